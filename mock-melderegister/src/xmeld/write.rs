//! Writing the answers 1331 / 1333 in the shape of the recorded production answer (header with the roles
//! swapped, `anschrift.autor`, `antwortSuchanfrage`, `ursprungsnachricht`), with person data as the
//! XMeld 25.11a schema orders it.

use super::abruf::{Ergebnis, Treffer};
use super::parse::Anfrage;
use super::tree::XMELD;
use crate::codes::{
    LIST_ERGEBNISSTATUS, LIST_GRUND, LIST_NACHRICHTEN, LIST_VERSION, XMELD_VERSION,
};
use crate::register::Register;
use crate::register::model::{Einwohner, TeilDatum, Wohnung, Wohnungsstatus};

/// The mirror as the author of its answers.
#[derive(Clone, Debug)]
pub struct Absender {
    pub kennung: String,
    pub name: String,
    pub email: String,
    pub telefon: String,
    pub strasse: String,
    pub hausnummer: String,
    pub plz: String,
    pub ort: String,
}

/// XML escaping: the one escaper of sim-kit (control characters XML cannot carry become U+FFFD).
pub fn esc(s: &str) -> String {
    sim_kit::xml_escape::escape(s)
}

struct W(String);

impl W {
    fn open(&mut self, tag: &str) {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
    }
    fn close(&mut self, tag: &str) {
        self.0.push_str("</");
        self.0.push_str(tag.split(' ').next().unwrap_or(tag));
        self.0.push('>');
    }
    fn leaf(&mut self, tag: &str, text: &str) {
        self.open(tag);
        self.0.push_str(&esc(text));
        self.close(tag);
    }
    fn code(&mut self, tag: &str, attrs: &str, code: &str) {
        self.0
            .push_str(&format!("<{tag}{attrs}><code>{}</code>", esc(code)));
        self.close(tag);
    }
}

fn datum(w: &mut W, tag: &str, d: &TeilDatum) {
    w.open(tag);
    match d.xml() {
        Some((variant, v)) => {
            w.open("teilbekanntesDatum");
            w.leaf(variant, &v);
            w.close("teilbekanntesDatum");
        }
        None => w.leaf("unbekannt", "true"),
    }
    w.close(tag);
}

fn tagesdatum(d: &TeilDatum) -> String {
    d.xml().map(|x| x.1).unwrap_or_default()
}

fn partei(
    w: &mut W,
    tag: &str,
    kennung: &str,
    name: Option<&str>,
    erreichbar: &[(String, String, Option<String>)],
) {
    w.open(tag);
    w.code(
        "verzeichnisdienst",
        " listURI=\"urn:xoev-de:kosit:codeliste:verzeichnisdienst\" listVersionID=\"0\"",
        "DVDV",
    );
    w.leaf("kennung", kennung);
    if let Some(n) = name {
        w.leaf("name", n);
    }
    for (kanal, kennung, zusatz) in erreichbar {
        w.open("erreichbarkeit");
        w.code(
            "kanal",
            " listURI=\"urn:de:xoev:codeliste:erreichbarkeit\" listVersionID=\"0\"",
            kanal,
        );
        w.leaf("kennung", kennung);
        if let Some(z) = zusatz {
            w.leaf("zusatz", z);
        }
        w.close("erreichbarkeit");
    }
    w.close(tag);
}

fn meldeanschrift(w: &mut W, tag: &str, a: &Wohnung) {
    w.open(tag);
    w.code(
        "gemeindeschluessel",
        " listVersionID=\"2025-01-31\"",
        &a.ags,
    );
    if let Some(n) = a.hausnummer {
        w.leaf("hausnummer", &n.to_string());
    }
    if let Some(z) = &a.zusatz {
        w.leaf("hausnummerBuchstabeZusatzziffer", z);
    }
    w.leaf("postleitzahl", &a.plz);
    w.leaf("strasse", &a.strasse);
    if let Some(t) = &a.teilnummer {
        w.leaf("teilnummerDerHausnummer", t);
    }
    w.leaf("wohnort", &a.ort);
    w.close(tag);
}

fn status_code(w: &Wohnung) -> &'static str {
    match w.status {
        Wohnungsstatus::Haupt => "1",
        Wohnungsstatus::Neben => "2",
    }
}

/// `xmeld:name` of a person (list entries: family names and Vornamen only).
fn name(w: &mut W, e: &Einwohner, voll: bool) {
    w.open("xmeld:name");
    w.open("xmeld:familienname.unstrukturiert");
    w.open("xmeld:nachname");
    w.leaf("name", &e.familienname);
    w.close("xmeld:nachname");
    w.close("xmeld:familienname.unstrukturiert");
    if let Some(g) = e.fruehere_namen.first() {
        w.open("xmeld:geburtsname.unstrukturiert");
        w.leaf("name", g);
        w.close("xmeld:geburtsname.unstrukturiert");
    }
    w.open("xmeld:vornamen");
    w.open("xmeld:vornamen");
    w.leaf("name", &e.vornamen);
    w.close("xmeld:vornamen");
    w.close("xmeld:vornamen");
    if voll {
        if let Some(d) = &e.doktorgrad {
            w.leaf("xmeld:doktorgrad", d);
        }
        if let Some(o) = &e.ordensname {
            w.leaf("xmeld:ordensname", o);
        }
        if let Some(k) = &e.kuenstlername {
            w.leaf("xmeld:kuenstlername", k);
        }
    }
    w.close("xmeld:name");
}

fn wants(anf: &[u32], r: std::ops::RangeInclusive<u32>) -> bool {
    anf.iter().any(|c| r.contains(c))
}

/// Person data of a 1331 (`type.Personensuche.Abrufdaten.Personendaten`).
fn personendaten_1331(w: &mut W, e: &Einwohner, voll: bool, anf: &[u32]) {
    w.open("xmeld:personendaten");
    if !voll || wants(anf, 1..=12) {
        name(w, e, voll);
    }
    if !voll || wants(anf, 13..=18) {
        w.open("xmeld:geburtsangaben");
        w.open("xmeld:geburt");
        if voll {
            w.leaf("xmeld:geburtsort", &e.geburtsort);
        }
        datum(w, "xmeld:geburtsdatum", &e.geburtsdatum);
        w.close("xmeld:geburt");
        w.close("xmeld:geburtsangaben");
    }
    let adressen: Vec<&Wohnung> = if voll {
        e.wohnungen
            .iter()
            .filter(|x| {
                if x.aktuell {
                    wants(anf, 43..=56)
                } else {
                    wants(anf, 57..=70)
                }
            })
            .collect()
    } else {
        e.hauptwohnung().into_iter().collect()
    };
    for a in adressen {
        w.open("xmeld:wohnung");
        w.open("xmeld:anschrift");
        w.open("xmeld:anschrift.inland");
        meldeanschrift(w, "xmeld:anschrift.inland", a);
        w.close("xmeld:anschrift.inland");
        w.close("xmeld:anschrift");
        if let Some(d) = a.auszug.filter(|_| voll && wants(anf, 82..=82)) {
            datum(w, "xmeld:datumDesAuszugs", &d);
        }
        w.code(
            "xmeld:statusderwohnung",
            " listURI=\"urn:de:dsmeld:schluesseltabelle:wohnungsstatus\" listVersionID=\"2\"",
            status_code(a),
        );
        w.leaf(
            "xmeld:wohnung.aktuell",
            if a.aktuell { "true" } else { "false" },
        );
        w.close("xmeld:wohnung");
    }
    if let Some(s) = e.sterbedatum.filter(|_| voll && wants(anf, 172..=175)) {
        w.open("xmeld:sterbedaten");
        w.open("xmeld:tod");
        if let Some(o) = &e.sterbeort {
            w.leaf("xmeld:sterbeort", o);
        }
        if s.is_full() {
            w.leaf("xmeld:sterbetag", &tagesdatum(&s));
        }
        w.close("xmeld:tod");
        w.close("xmeld:sterbedaten");
    }
    flags(w, e, voll && wants(anf, 172..=172), "xmeld:verstorben");
    if voll && wants(anf, 19..=19) {
        w.code("xmeld:geschlecht", " listVersionID=\"1\"", &e.geschlecht);
    }
    if voll && wants(anf, 41..=41) {
        w.code("xmeld:staatsangehoerigkeit", " listURI=\"urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:staatsangehoerigkeit\"", &e.staatsangehoerigkeit);
    }
    if e.verzogen() {
        w.leaf("xmeld:verzogen", "true");
    }
    w.close("xmeld:personendaten");
}

/// § 5 BMeldDAV: "verstorben" is added when the requester did not get the underlying data.
fn flags(w: &mut W, e: &Einwohner, death_data_sent: bool, tag: &str) {
    if e.verstorben() && !death_data_sent {
        w.leaf(tag, "true");
    }
}

/// Person data of a 1333 (`type.FreieSuche.Abrufdaten.Personendaten`): the Ergebnisliste set of § 8.
fn personendaten_1333(w: &mut W, e: &Einwohner) {
    w.open("xmeld:personendaten");
    name(w, e, true);
    w.open("xmeld:geburtsangaben");
    w.leaf("xmeld:geburtsort", &e.geburtsort);
    datum(w, "xmeld:geburtsdatum", &e.geburtsdatum);
    w.close("xmeld:geburtsangaben");
    if let Some(a) = e.hauptwohnung() {
        w.open("xmeld:wohnung");
        w.open("xmeld:anschrift");
        meldeanschrift(w, "xmeld:anschrift.inland", a);
        w.close("xmeld:anschrift");
        w.close("xmeld:wohnung");
    }
    if let Some(s) = &e.sterbedatum {
        w.open("xmeld:sterbedaten");
        w.open("xmeld:tod");
        if let Some(o) = &e.sterbeort {
            w.leaf("xmeld:sterbeort", o);
        }
        if s.is_full() {
            w.leaf("xmeld:sterbetag", &tagesdatum(s));
        }
        w.close("xmeld:tod");
        w.close("xmeld:sterbedaten");
    }
    w.code("xmeld:geschlecht", " listVersionID=\"1\"", &e.geschlecht);
    w.code(
        "xmeld:staatsangehoerigkeit",
        " listURI=\"urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:staatsangehoerigkeit\"",
        &e.staatsangehoerigkeit,
    );
    if e.verzogen() {
        w.leaf("xmeld:verzogen", "true");
    }
    if e.verstorben() {
        w.leaf("xmeld:verstorben", "true");
    }
    w.close("xmeld:personendaten");
}

fn person(w: &mut W, reg: &Register, t: &Treffer, freie: bool, anf: &[u32]) {
    let Some(e) = reg.get(t.id) else { return };
    w.open("xmeld:person");
    if freie {
        personendaten_1333(w, e);
    } else {
        personendaten_1331(w, e, t.voll, anf);
    }
    if let Some(m) = &t.merkmal {
        w.leaf("xmeld:identifikationsmerkmal", m);
    }
    w.close("xmeld:person");
}

/// The answer document: `uuid` and `zeit` (xs:dateTime) of the answer are parameters.
pub fn antwort(
    a: &Anfrage,
    e: &Ergebnis,
    reg: &Register,
    abs: &Absender,
    uuid: &str,
    zeit: &str,
) -> String {
    let freie = a.is_freie_suche();
    let (root, typ) = if freie {
        ("xmeld:datenabruf.freieSuche.antwort.1333", "1333")
    } else {
        ("xmeld:datenabruf.personensuche.antwort.1331", "1331")
    };
    let mut w = W(String::with_capacity(4096));
    w.0.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.0.push_str(&format!(
        "<{root} xmlns:xmeld=\"{XMELD}\" produkt=\"konform mock-melderegister (fiktive Daten)\" produkthersteller=\"konform\" produktversion=\"{}\" standard=\"XMeld\" version=\"{XMELD_VERSION}\">",
        env!("CARGO_PKG_VERSION")
    ));
    w.open("nachrichtenkopf.g2g");
    w.open("identifikation.nachricht");
    w.leaf("nachrichtenUUID", uuid);
    w.code(
        "nachrichtentyp",
        &format!(" listURI=\"{LIST_NACHRICHTEN}\" listVersionID=\"{XMELD_VERSION}\""),
        typ,
    );
    w.leaf("erstellungszeitpunkt", zeit);
    w.close("identifikation.nachricht");
    partei(
        &mut w,
        "leser",
        &a.autor.kennung,
        a.autor.name.as_deref(),
        &a.autor.erreichbarkeit,
    );
    let eigene = [
        ("01".to_string(), abs.email.clone(), None),
        ("02".to_string(), abs.telefon.clone(), None),
    ];
    partei(&mut w, "autor", &abs.kennung, Some(&abs.name), &eigene);
    w.close("nachrichtenkopf.g2g");
    w.open("anschrift.autor");
    w.open("gebaeude");
    w.leaf("hausnummer", &abs.hausnummer);
    w.leaf("postleitzahl", &abs.plz);
    w.leaf("strasse", &abs.strasse);
    w.leaf("wohnort", &abs.ort);
    w.close("gebaeude");
    w.close("anschrift.autor");
    w.open("xmeld:antwortSuchanfrage");
    match e {
        Ergebnis::Rueckweisung(rs) => {
            for r in rs {
                w.open("xmeld:rueckweisung");
                w.code(
                    "xmeld:grundDerRueckweisung",
                    &format!(" listURI=\"{LIST_GRUND}\" listVersionID=\"{LIST_VERSION}\""),
                    &r.grund.code(),
                );
                if let Some(f) = &r.freitext {
                    w.leaf("xmeld:freitext", f);
                }
                w.close("xmeld:rueckweisung");
            }
        }
        Ergebnis::Auskunft { status, personen } => {
            w.open("xmeld:auskunft");
            w.code(
                "xmeld:ergebnisstatus",
                &format!(" listURI=\"{LIST_ERGEBNISSTATUS}\" listVersionID=\"{LIST_VERSION}\""),
                &status.code(),
            );
            for t in personen {
                person(&mut w, reg, t, freie, &a.anforderung);
            }
            w.close("xmeld:auskunft");
        }
    }
    w.close("xmeld:antwortSuchanfrage");
    w.open("xmeld:ursprungsnachricht");
    w.leaf("nachrichtenUUID", &a.identifikation.uuid);
    w.code(
        "nachrichtentyp",
        &format!(" listURI=\"{LIST_NACHRICHTEN}\" listVersionID=\"{XMELD_VERSION}\""),
        &a.identifikation.typ,
    );
    w.leaf("erstellungszeitpunkt", &a.identifikation.erstellt);
    w.close("xmeld:ursprungsnachricht");
    w.close(root);
    w.0
}
