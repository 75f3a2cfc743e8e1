//! Reading a Datenabruf request (1330 Personensuche, 1332 freie Suche) into typed values. Structural
//! violations (what a validating server rejects before any business rule) are [`SchemaError`]s; the
//! business rules of the BMeldDAV are checked later (`xmeld::abruf`, `search::rules`).

use super::tree::{Node, SchemaError, XMELD, path_join};
use crate::codes::{LIST_NACHRICHTEN, XMELD_VERSION};
use crate::register::model::TeilDatum;
use crate::search::query::*;
use sim_kit::xmltree::Element;

/// A party of the message header (`leser`, `autor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partei {
    pub kennung: String,
    pub name: Option<String>,
    /// (kanal code, kennung, zusatz) — echoed when the roles swap in the answer.
    pub erreichbarkeit: Vec<(String, String, Option<String>)>,
}

/// `identifikation.nachricht` of the request (echoed as `ursprungsnachricht`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identifikation {
    pub uuid: String,
    pub typ: String,
    pub erstellt: String,
}

/// The logging data of § 11 BMeldDAV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbrufendeStelle {
    pub sicherheitsbehoerde: bool,
    pub behoerdenname: String,
    pub erreichbarkeiten: usize,
    pub aktenzeichen: String,
    pub anlass: String,
    pub kennung: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suche {
    Personensuche(Box<Personensuche>),
    /// Continuation of a retrieval by the Identifikationsmerkmal of an earlier hit list.
    Identifikationsmerkmal(String),
    FreieSuche(Box<FreieSuche>),
}

/// Selection data only security authorities may use (freie Suche; reasons 04–06).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Waffenauswahl {
    pub waffenrechtliche_erlaubnis: bool,
    pub waffenbesitzverbot: bool,
    pub sprengstoffrechtliche_erlaubnis: bool,
}

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anfrage {
    pub identifikation: Identifikation,
    pub leser: Partei,
    pub autor: Partei,
    pub stelle: AbrufendeStelle,
    pub suche: Suche,
    pub anforderung: Vec<u32>,
    pub waffen: Waffenauswahl,
    pub landesspezifisch: bool,
}

impl Anfrage {
    pub fn is_freie_suche(&self) -> bool {
        matches!(self.suche, Suche::FreieSuche(_))
    }
}

pub const ROOT_1330: &str = "datenabruf.personensuche.suchanfrage.1330";
pub const ROOT_1332: &str = "datenabruf.freieSuche.suchanfrage.1332";

/// RFC 4122 textual form: 8-4-4-4-12 hex digits, version 1–8, variant 10xx.
pub fn is_rfc4122(u: &str) -> bool {
    let b = u.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    (b'1'..=b'8').contains(&b[14])
        && matches!(b[19].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b')
}

pub(super) fn err(rule: &'static str, loc: &str, m: impl Into<String>) -> SchemaError {
    SchemaError::new(rule, loc, m)
}

pub(super) fn child<'a>(
    n: Node<'a>,
    q: bool,
    local: &str,
    buf: &'a mut String,
) -> Result<Node<'a>, SchemaError> {
    let el = n.req(q, local)?;
    *buf = path_join(n.path, q, local);
    Ok(Node { el, path: buf })
}

fn partei(el: &Element, path: &str) -> Result<Partei, SchemaError> {
    let n = Node { el, path };
    let mut erreichbarkeit = Vec::new();
    for e in n.children(false, "erreichbarkeit").into_iter().take(16) {
        let ep = format!("{path}/erreichbarkeit");
        let en = Node { el: e, path: &ep };
        let kanal = Node::code_of(en.req(false, "kanal")?, &format!("{ep}/kanal"))?;
        erreichbarkeit.push((
            kanal,
            en.req_text(false, "kennung")?,
            en.opt_text(false, "zusatz")?,
        ));
    }
    Ok(Partei {
        kennung: n.req_text(false, "kennung")?,
        name: n.opt_text(false, "name")?,
        erreichbarkeit,
    })
}

fn kopf(root: Node<'_>) -> Result<(Identifikation, Partei, Partei), SchemaError> {
    let mut p1 = String::new();
    let k = child(root, false, "nachrichtenkopf.g2g", &mut p1)?;
    let mut p2 = String::new();
    let id = child(k, false, "identifikation.nachricht", &mut p2)?;
    let uuid = id.req_text(false, "nachrichtenUUID")?;
    if !is_rfc4122(&uuid) {
        return Err(err(
            "xmeld.header.uuid",
            &format!("{}/nachrichtenUUID", id.path),
            format!(
                "nachrichtenUUID `{uuid}` entspricht nicht RFC 4122 (8-4-4-4-12 Hex-Ziffern, Version 1–8, Variante 10xx); Pflicht seit XMeld 2.1.1"
            ),
        ));
    }
    let typ_el = id.req(false, "nachrichtentyp")?;
    let typ_path = format!("{}/nachrichtentyp", id.path);
    if let Some(u) = typ_el.attr("listURI")
        && u != LIST_NACHRICHTEN
    {
        return Err(err(
            "xmeld.header.list-uri",
            &typ_path,
            format!("nachrichtentyp/@listURI `{u}`: fest vorgegeben ist `{LIST_NACHRICHTEN}`"),
        ));
    }
    if let Some(v) = typ_el.attr("listVersionID")
        && v != XMELD_VERSION
    {
        return Err(err(
            "xmeld.header.list-version",
            &typ_path,
            format!("nachrichtentyp/@listVersionID `{v}`: fest vorgegeben ist `{XMELD_VERSION}`"),
        ));
    }
    let typ = Node::code_of(typ_el, &typ_path)?;
    let erstellt = id.req_text(false, "erstellungszeitpunkt")?;
    if time::OffsetDateTime::parse(&erstellt, &time::format_description::well_known::Rfc3339)
        .is_err()
    {
        return Err(err(
            "xmeld.header.erstellungszeitpunkt",
            &format!("{}/erstellungszeitpunkt", id.path),
            format!("`{erstellt}` ist kein xs:dateTime mit Zeitzone"),
        ));
    }
    let leser = partei(k.req(false, "leser")?, &format!("{}/leser", k.path))?;
    let autor = partei(k.req(false, "autor")?, &format!("{}/autor", k.path))?;
    root.req(false, "anschrift.autor")?;
    Ok((
        Identifikation {
            uuid,
            typ,
            erstellt,
        },
        leser,
        autor,
    ))
}

fn stelle(root: Node<'_>) -> Result<AbrufendeStelle, SchemaError> {
    let mut p = String::new();
    let s = child(root, true, "datenAbrufendeStelle", &mut p)?;
    let sb_path = path_join(s.path, true, "sicherheitsbehoerde");
    let sicherheitsbehoerde = Node::bool_of(s.req(true, "sicherheitsbehoerde")?, &sb_path)?;
    let mut p2 = String::new();
    let a = child(s, true, "abrufberechtigteStelle", &mut p2)?;
    let erreichbarkeiten = a.children(true, "erreichbarkeit").len();
    if erreichbarkeiten == 0 {
        return Err(err(
            "xmeld.schema.required",
            &path_join(a.path, true, "erreichbarkeit"),
            "Pflichtelement 'xmeld:erreichbarkeit' fehlt (mindestens eine Erreichbarkeit, § 11 BMeldDAV)",
        ));
    }
    a.req(true, "anschrift")?;
    Ok(AbrufendeStelle {
        sicherheitsbehoerde,
        behoerdenname: a.req_text(true, "behoerdenname")?,
        erreichbarkeiten,
        aktenzeichen: s.req_text(true, "aktenzeichen")?,
        anlass: s.req_text(true, "anlassDesAbrufs")?,
        kennung: s.req_text(true, "kennung")?,
    })
}

/// `…/geburtsdatum/teilbekanntesDatum/{jahrMonatTag|jahrMonat|jahr}` (or `unbekannt`).
pub(super) fn teil_datum(el: &Element, path: &str) -> Result<TeilDatum, SchemaError> {
    let n = Node { el, path };
    let Some(t) = n.opt(false, "teilbekanntesDatum")? else {
        // A plain xs:date (xida:Tagesdatum).
        return TeilDatum::parse(el.text.trim())
            .filter(TeilDatum::is_full)
            .ok_or_else(|| {
                err(
                    "xmeld.schema.date",
                    path,
                    format!("`{}` ist kein gültiges Datum (JJJJ-MM-TT)", el.text.trim()),
                )
            });
    };
    let tp = format!("{path}/teilbekanntesDatum");
    let tn = Node { el: t, path: &tp };
    for (name, len) in [("jahrMonatTag", 10), ("jahrMonat", 7), ("jahr", 4)] {
        if let Some(v) = tn.opt_text(false, name)? {
            return TeilDatum::parse(&v)
                .filter(|_| v.len() == len)
                .ok_or_else(|| {
                    err(
                        "xmeld.schema.date",
                        &format!("{tp}/{name}"),
                        format!("`{v}` ist kein gültiger Wert für {name}"),
                    )
                });
        }
    }
    if tn.opt(false, "unbekannt")?.is_some() {
        return Ok(TeilDatum::default());
    }
    Err(err(
        "xmeld.schema.date",
        &tp,
        "teilbekanntesDatum ohne jahrMonatTag, jahrMonat, jahr oder unbekannt",
    ))
}

pub(super) fn name_text(el: &Element, path: &str) -> Result<String, SchemaError> {
    // xian:AllgemeinerName → <name>…</name>
    Node { el, path }.req_text(false, "name")
}

pub(super) fn hausnummer_fields(n: Node<'_>) -> Result<Hausnummer, SchemaError> {
    let nummer = match n.opt_text(false, "hausnummer")? {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| err("xmeld.schema.hausnummer", &format!("{}/hausnummer", n.path), format!("Hausnummer `{v}` ist keine Zahl (DSMeld 1206; Buchstaben gehören in hausnummerBuchstabeZusatzziffer)")))?),
    };
    Ok(Hausnummer {
        nummer,
        zusatz: n.opt_text(false, "hausnummerBuchstabeZusatzziffer")?,
        teilnummer: n.opt_text(false, "teilnummerDerHausnummer")?,
    })
}

fn personensuche(a: Node<'_>) -> Result<Personensuche, SchemaError> {
    let mut p = String::new();
    let name_w = child(a, true, "name", &mut p)?;
    let mut p2 = String::new();
    let name = child(name_w, true, "name", &mut p2)?;
    let person_name = if let Some(nv) = name.opt(true, "nachnameUndVornamen")? {
        let np = path_join(name.path, true, "nachnameUndVornamen");
        let n = Node { el: nv, path: &np };
        PersonName::NachnameUndVornamen {
            vornamen: name_text(n.req(true, "vornamen")?, &path_join(&np, true, "vornamen"))?,
            nachname: name_text(n.req(true, "nachname")?, &path_join(&np, true, "nachname"))?,
        }
    } else if let Some(o) = name.opt_text(true, "ordensOderKuenstlername")? {
        PersonName::OrdensOderKuenstlername(o)
    } else {
        return Err(err(
            "xmeld.schema.required",
            name.path,
            "name: nachnameUndVornamen oder ordensOderKuenstlername erforderlich",
        ));
    };
    let phonetik = match name_w.opt(true, "phonetik")? {
        Some(e) => Node::bool_of(e, &path_join(name_w.path, true, "phonetik"))?,
        None => false,
    };
    let mut p3 = String::new();
    let an = child(a, true, "anschrift", &mut p3)?;
    let gs = an.req(false, "gemeindeschluessel")?;
    let ags = Node::code_of(gs, &format!("{}/gemeindeschluessel", an.path))?;
    let geburtsdatum = match a.opt(true, "geburtsdatum")? {
        Some(g) => {
            let gp = path_join(a.path, true, "geburtsdatum");
            let inner = Node { el: g, path: &gp }.req(true, "geburtsdatum")?;
            Some(teil_datum(inner, &path_join(&gp, true, "geburtsdatum"))?)
        }
        None => None,
    };
    let ort = |local: &str| -> Result<Option<String>, SchemaError> {
        let Some(o) = a.opt(true, local)? else {
            return Ok(None);
        };
        let op = path_join(a.path, true, local);
        let n = Node { el: o, path: &op };
        if let Some(i) = n.opt_text(true, &format!("{local}.inland"))? {
            return Ok(Some(i));
        }
        let aus = n.req(true, &format!("{local}.ausland"))?;
        Ok(Some(Node { el: aus, path: &op }.req_text(true, local)?))
    };
    let sterbetag = match a.opt(true, "sterbetag")? {
        Some(s) => Some(teil_datum(s, &path_join(a.path, true, "sterbetag"))?),
        None => None,
    };
    Ok(Personensuche {
        name: person_name,
        phonetik,
        ags,
        plz: an.opt_text(false, "postleitzahl")?,
        strasse: an.opt_text(false, "strasse")?,
        hausnummer: hausnummer_fields(an)?,
        geburtsdatum,
        geburtsort: ort("geburtsort")?,
        geschlecht: match a.opt(true, "geschlecht")? {
            Some(g) => Some(Node::code_of(g, &path_join(a.path, true, "geschlecht"))?),
            None => None,
        },
        sterbetag,
        sterbeort: ort("sterbeort")?,
        azr_nummer: a.opt_text(true, "azrNummer")?,
    })
}

fn anforderung(s: Node<'_>, max: u32) -> Result<Vec<u32>, SchemaError> {
    let mut v = Vec::new();
    let loc = path_join(s.path, true, "anforderungselement");
    for e in s.children(true, "anforderungselement") {
        let c = Node::code_of(e, &loc)?;
        match c.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => v.push(n),
            _ => {
                return Err(err(
                    "xmeld.schema.anforderungselement",
                    &loc,
                    format!(
                        "anforderungselement `{c}` ist nicht in der Codeliste (gültig: 1–{max})"
                    ),
                ));
            }
        }
    }
    if v.is_empty() {
        return Err(err(
            "xmeld.schema.required",
            &loc,
            "mindestens ein xmeld:anforderungselement ist erforderlich",
        ));
    }
    Ok(v)
}

/// Parse a 1330 or 1332 message (root element already parsed by the strict reader).
pub fn anfrage(root: &Element) -> Result<Anfrage, SchemaError> {
    let rp = format!("/xmeld:{}", root.local);
    let r = Node {
        el: root,
        path: &rp,
    };
    if root.ns.as_deref() != Some(XMELD) || (root.local != ROOT_1330 && root.local != ROOT_1332) {
        return Err(err(
            "xmeld.message-type",
            &format!("/{}", root.qname),
            format!(
                "Nachricht `{}` ({}) ist keine Datenabruf-Suchanfrage 1330 oder 1332 in XMeld {XMELD_VERSION}",
                root.local,
                root.ns.as_deref().unwrap_or("kein Namensraum")
            ),
        ));
    }
    for (a, fixed) in [
        ("standard", Some("XMeld")),
        ("version", Some(XMELD_VERSION)),
        ("produkt", None),
        ("produkthersteller", None),
    ] {
        match (root.attr(a), fixed) {
            (None, _) => {
                return Err(err(
                    "xmeld.schema.attribute",
                    &rp,
                    format!("Pflichtattribut `{a}` fehlt"),
                ));
            }
            (Some(v), Some(f)) if v != f => {
                return Err(err(
                    "xmeld.schema.attribute",
                    &rp,
                    format!("Attribut `{a}` = `{v}`: fest vorgegeben ist `{f}`"),
                ));
            }
            _ => {}
        }
    }
    let (identifikation, leser, autor) = kopf(r)?;
    let want = if root.local == ROOT_1330 {
        "1330"
    } else {
        "1332"
    };
    if identifikation.typ != want {
        return Err(err(
            "xmeld.header.nachrichtentyp",
            &format!("{rp}/nachrichtenkopf.g2g/identifikation.nachricht/nachrichtentyp"),
            format!(
                "nachrichtentyp `{}` passt nicht zur Nachricht {want}",
                identifikation.typ
            ),
        ));
    }
    let stelle = stelle(r)?;
    let mut ps = String::new();
    let sp = child(r, true, "suchprofil", &mut ps)?;
    let mut pst = String::new();
    let st = child(r, true, "steuerungsinformationen", &mut pst)?;
    let landesspezifisch = r.opt(true, "landesspezifischeErweiterungen")?.is_some();
    let (suche, anforderung, waffen) = if want == "1330" {
        let suche = if let Some(i) = sp.opt_text(true, "identifikationsmerkmal")? {
            Suche::Identifikationsmerkmal(i)
        } else {
            let mut pa = String::new();
            Suche::Personensuche(Box::new(personensuche(child(
                sp,
                true,
                "auswahldaten",
                &mut pa,
            )?)?))
        };
        (suche, anforderung(st, 185)?, Waffenauswahl::default())
    } else {
        let mut pa = String::new();
        let a = child(sp, true, "auswahldaten", &mut pa)?;
        let (fs, w) = super::parse_freie::freie_suche(a, st)?;
        (Suche::FreieSuche(Box::new(fs)), anforderung(st, 46)?, w)
    };
    Ok(Anfrage {
        identifikation,
        leser,
        autor,
        stelle,
        suche,
        anforderung,
        waffen,
        landesspezifisch,
    })
}
