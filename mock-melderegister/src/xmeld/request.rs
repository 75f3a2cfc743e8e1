//! Writing requests 1330 / 1332 from typed selection data — what a correct Fachverfahren sends. Used by the
//! reference client, the tests and the fuzz seeds; the simulator itself only reads requests.

use super::tree::XMELD;
use super::write::esc;
use crate::codes::{LIST_NACHRICHTEN, XMELD_VERSION};
use crate::search::query::*;

/// Header and logging data of a request.
#[derive(Clone, Debug)]
pub struct Kopfdaten {
    pub uuid: String,
    /// xs:dateTime with zone, e.g. `2026-11-30T12:00:00.000+01:00`.
    pub erstellt: String,
    /// DVDV key of the Leser (`ags:<AGS>` of the searched Gemeinde or the mirror's key).
    pub leser: String,
    /// DVDV key of the requesting authority (the Mandant's `dvdv`).
    pub autor: String,
    pub autor_name: String,
    pub sicherheitsbehoerde: bool,
    pub aktenzeichen: String,
    pub anlass: String,
    pub kennung: String,
    /// `nachrichtentyp/@listVersionID` (correct: `25.11a`); `None` leaves the attribute out.
    pub list_version: Option<String>,
}

fn head(out: &mut String, root: &str, typ: &str, k: &Kopfdaten) {
    out.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xmeld:{root} xmlns:xmeld=\"{XMELD}\" produkt=\"konform reference client\" produkthersteller=\"konform\" standard=\"XMeld\" version=\"{XMELD_VERSION}\">"
    ));
    let lv = k
        .list_version
        .as_deref()
        .map(|v| {
            format!(
                " listURI=\"{LIST_NACHRICHTEN}\" listVersionID=\"{}\"",
                esc(v)
            )
        })
        .unwrap_or_default();
    let party = |kennung: &str, name: &str| {
        format!(
            "<verzeichnisdienst listURI=\"urn:xoev-de:kosit:codeliste:verzeichnisdienst\" listVersionID=\"0\"><code>DVDV</code></verzeichnisdienst><kennung>{}</kennung><name>{}</name>",
            esc(kennung),
            esc(name)
        )
    };
    out.push_str(&format!(
        "<nachrichtenkopf.g2g><identifikation.nachricht><nachrichtenUUID>{}</nachrichtenUUID><nachrichtentyp{lv}><code>{typ}</code></nachrichtentyp><erstellungszeitpunkt>{}</erstellungszeitpunkt></identifikation.nachricht><leser>{}</leser><autor>{}</autor></nachrichtenkopf.g2g>",
        esc(&k.uuid),
        esc(&k.erstellt),
        party(&k.leser, "Melderegister"),
        party(&k.autor, &k.autor_name)
    ));
    let anschrift = "<gebaeude><hausnummer>1</hausnummer><postleitzahl>30159</postleitzahl><strasse>Musterweg</strasse><wohnort>Hannover</wohnort></gebaeude>";
    out.push_str(&format!("<anschrift.autor>{anschrift}</anschrift.autor>"));
    out.push_str(&format!(
        "<xmeld:datenAbrufendeStelle><xmeld:sicherheitsbehoerde>{}</xmeld:sicherheitsbehoerde><xmeld:abrufberechtigteStelle><xmeld:erreichbarkeit><kanal listURI=\"urn:de:xoev:codeliste:erreichbarkeit\" listVersionID=\"3\"><code>01</code></kanal><kennung>poststelle@example.invalid</kennung></xmeld:erreichbarkeit><xmeld:anschrift>{anschrift}</xmeld:anschrift><xmeld:behoerdenname>{}</xmeld:behoerdenname></xmeld:abrufberechtigteStelle><xmeld:aktenzeichen>{}</xmeld:aktenzeichen><xmeld:anlassDesAbrufs>{}</xmeld:anlassDesAbrufs><xmeld:kennung>{}</xmeld:kennung></xmeld:datenAbrufendeStelle>",
        k.sicherheitsbehoerde,
        esc(&k.autor_name),
        esc(&k.aktenzeichen),
        esc(&k.anlass),
        esc(&k.kennung)
    ));
}

fn anforderung(out: &mut String, codes: &[u32]) {
    for c in codes {
        out.push_str(&format!(
            "<xmeld:anforderungselement><code>{c}</code></xmeld:anforderungselement>"
        ));
    }
}

fn teil_datum(d: &crate::register::model::TeilDatum) -> String {
    match d.xml() {
        Some((v, t)) => format!("<teilbekanntesDatum><{v}>{t}</{v}></teilbekanntesDatum>"),
        None => "<unbekannt>true</unbekannt>".into(),
    }
}

fn opt(tag: &str, v: &Option<String>) -> String {
    v.as_deref()
        .map(|x| format!("<{tag}>{}</{tag}>", esc(x)))
        .unwrap_or_default()
}

/// A Personensuche 1330.
pub fn personensuche_1330(k: &Kopfdaten, q: &Personensuche, codes: &[u32]) -> String {
    let mut o = String::with_capacity(4096);
    head(
        &mut o,
        "datenabruf.personensuche.suchanfrage.1330",
        "1330",
        k,
    );
    o.push_str("<xmeld:suchprofil><xmeld:auswahldaten><xmeld:name><xmeld:name>");
    match &q.name {
        PersonName::NachnameUndVornamen { nachname, vornamen } => o.push_str(&format!(
            "<xmeld:nachnameUndVornamen><xmeld:vornamen><name>{}</name></xmeld:vornamen><xmeld:nachname><name>{}</name></xmeld:nachname></xmeld:nachnameUndVornamen>",
            esc(vornamen),
            esc(nachname)
        )),
        PersonName::OrdensOderKuenstlername(n) => o.push_str(&format!(
            "<xmeld:ordensOderKuenstlername>{}</xmeld:ordensOderKuenstlername>",
            esc(n)
        )),
    }
    o.push_str("</xmeld:name>");
    if q.phonetik {
        o.push_str("<xmeld:phonetik>true</xmeld:phonetik>");
    }
    o.push_str("</xmeld:name><xmeld:anschrift>");
    o.push_str(&format!(
        "<gemeindeschluessel listVersionID=\"2025-01-31\"><code>{}</code></gemeindeschluessel>",
        esc(&q.ags)
    ));
    o.push_str(&opt(
        "hausnummer",
        &q.hausnummer.nummer.map(|n| n.to_string()),
    ));
    o.push_str(&opt(
        "hausnummerBuchstabeZusatzziffer",
        &q.hausnummer.zusatz,
    ));
    o.push_str(&opt("postleitzahl", &q.plz));
    o.push_str(&opt("strasse", &q.strasse));
    o.push_str(&opt("teilnummerDerHausnummer", &q.hausnummer.teilnummer));
    o.push_str("</xmeld:anschrift>");
    if let Some(d) = &q.geburtsdatum {
        o.push_str(&format!(
            "<xmeld:geburtsdatum><xmeld:geburtsdatum>{}</xmeld:geburtsdatum></xmeld:geburtsdatum>",
            teil_datum(d)
        ));
    }
    if let Some(g) = &q.geburtsort {
        o.push_str(&format!("<xmeld:geburtsort><xmeld:geburtsort.inland>{}</xmeld:geburtsort.inland></xmeld:geburtsort>", esc(g)));
    }
    if let Some(g) = &q.geschlecht {
        o.push_str(&format!(
            "<xmeld:geschlecht listVersionID=\"1\"><code>{}</code></xmeld:geschlecht>",
            esc(g)
        ));
    }
    if let Some(s) = &q.sterbetag {
        o.push_str(&format!(
            "<xmeld:sterbetag>{}</xmeld:sterbetag>",
            s.xml().map(|x| x.1).unwrap_or_default()
        ));
    }
    if let Some(s) = &q.sterbeort {
        o.push_str(&format!("<xmeld:sterbeort><xmeld:sterbeort.inland>{}</xmeld:sterbeort.inland></xmeld:sterbeort>", esc(s)));
    }
    o.push_str(&opt("xmeld:azrNummer", &q.azr_nummer));
    o.push_str("</xmeld:auswahldaten></xmeld:suchprofil><xmeld:steuerungsinformationen>");
    anforderung(&mut o, codes);
    o.push_str(
        "</xmeld:steuerungsinformationen></xmeld:datenabruf.personensuche.suchanfrage.1330>",
    );
    o
}

/// A Personensuche 1330 continuing with an Identifikationsmerkmal.
pub fn merkmal_1330(k: &Kopfdaten, merkmal: &str, codes: &[u32]) -> String {
    let mut o = String::with_capacity(2048);
    head(
        &mut o,
        "datenabruf.personensuche.suchanfrage.1330",
        "1330",
        k,
    );
    o.push_str(&format!(
        "<xmeld:suchprofil><xmeld:identifikationsmerkmal>{}</xmeld:identifikationsmerkmal></xmeld:suchprofil><xmeld:steuerungsinformationen>",
        esc(merkmal)
    ));
    anforderung(&mut o, codes);
    o.push_str(
        "</xmeld:steuerungsinformationen></xmeld:datenabruf.personensuche.suchanfrage.1330>",
    );
    o
}

fn suchbereich(s: &Suchbereich) -> String {
    let (tag, list) = match s {
        Suchbereich::Bundesland(_) => (
            "bundesland",
            " listURI=\"urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:bundesland\" listVersionID=\"0\"",
        ),
        Suchbereich::Bezirk(_) => ("bezirk", ""),
        Suchbereich::Kreis(_) => ("kreis", ""),
        Suchbereich::Gemeinde(_) => ("gemeindeschluessel", ""),
    };
    format!(
        "<xmeld:suchbereich><xmeld:{tag}{list}><code>{}</code></xmeld:{tag}></xmeld:suchbereich>",
        esc(s.key())
    )
}

/// A freie Suche 1332.
pub fn freie_suche_1332(k: &Kopfdaten, q: &FreieSuche, codes: &[u32]) -> String {
    let mut o = String::with_capacity(4096);
    head(&mut o, "datenabruf.freieSuche.suchanfrage.1332", "1332", k);
    o.push_str("<xmeld:suchprofil><xmeld:auswahldaten>");
    if q.nachname.is_some() || q.vornamen.is_some() || q.ordens_oder_kuenstlername.is_some() {
        o.push_str("<xmeld:name><xmeld:name>");
        if q.nachname.is_some() || q.vornamen.is_some() {
            o.push_str("<xmeld:nachnameUndVornamen>");
            if let Some(v) = &q.vornamen {
                o.push_str(&format!(
                    "<xmeld:vornamen><name>{}</name></xmeld:vornamen>",
                    esc(v)
                ));
            }
            if let Some(n) = &q.nachname {
                o.push_str(&format!(
                    "<xmeld:nachname><name>{}</name></xmeld:nachname>",
                    esc(n)
                ));
            }
            o.push_str("</xmeld:nachnameUndVornamen>");
        }
        o.push_str(&opt(
            "xmeld:ordensOderKuenstlername",
            &q.ordens_oder_kuenstlername,
        ));
        o.push_str("</xmeld:name>");
        if q.phonetik {
            o.push_str("<xmeld:phonetik>true</xmeld:phonetik>");
        }
        o.push_str("</xmeld:name>");
    }
    o.push_str(&opt("xmeld:doktorgrad", &q.doktorgrad));
    let has_addr = q.ags.is_some()
        || q.plz.is_some()
        || q.strasse.is_some()
        || q.wohnort.is_some()
        || q.hausnummer.is_some();
    if has_addr || q.aktualitaet_anschrift.is_some() {
        o.push_str("<xmeld:wohnung>");
        if has_addr {
            o.push_str("<xmeld:anschrift><xmeld:anschrift.inland>");
            if let Some(a) = &q.ags {
                o.push_str(&format!("<gemeindeschluessel listVersionID=\"2025-01-31\"><code>{}</code></gemeindeschluessel>", esc(a)));
            }
            match &q.hausnummer {
                Some(HausnummerAuswahl::Einzeln(h)) => o.push_str(&format!(
                    "<xmeld:hausnummerOderHausnummernbereich><xmeld:hausnummer>{}{}{}</xmeld:hausnummer></xmeld:hausnummerOderHausnummernbereich>",
                    opt("hausnummer", &h.nummer.map(|n| n.to_string())),
                    opt("hausnummerBuchstabeZusatzziffer", &h.zusatz),
                    opt("teilnummerDerHausnummer", &h.teilnummer)
                )),
                Some(HausnummerAuswahl::Bereich { von, bis }) => o.push_str(&format!(
                    "<xmeld:hausnummerOderHausnummernbereich><xmeld:hausnummernbereich><xmeld:hausnummer.von>{von}</xmeld:hausnummer.von><xmeld:hausnummer.bis>{bis}</xmeld:hausnummer.bis></xmeld:hausnummernbereich></xmeld:hausnummerOderHausnummernbereich>"
                )),
                None => {}
            }
            o.push_str(&opt("postleitzahl", &q.plz));
            o.push_str(&opt("strasse", &q.strasse));
            o.push_str(&opt("wohnort", &q.wohnort));
            o.push_str("</xmeld:anschrift.inland></xmeld:anschrift>");
        }
        if let Some(a) = q.aktualitaet_anschrift {
            o.push_str(&aktualitaet("xmeld:aktualitaetAnschrift", a));
        }
        o.push_str("</xmeld:wohnung>");
    }
    if q.geburt.is_some() || q.geburtsort.is_some() {
        o.push_str("<xmeld:geburtsdaten>");
        match &q.geburt {
            Some(Geburt::Datum(d)) => o.push_str(&format!("<xmeld:geburtstag><xmeld:geburtsdatum><xmeld:geburtsdatum>{}</xmeld:geburtsdatum></xmeld:geburtsdatum></xmeld:geburtstag>", teil_datum(d))),
            Some(Geburt::Zeitraum { von, bis }) => o.push_str(&format!(
                "<xmeld:geburtstag><xmeld:geburtszeitraum><xmeld:geburtsdatum.von>{}</xmeld:geburtsdatum.von><xmeld:geburtsdatum.bis>{}</xmeld:geburtsdatum.bis></xmeld:geburtszeitraum></xmeld:geburtstag>",
                von.xml().map(|x| x.1).unwrap_or_default(),
                bis.xml().map(|x| x.1).unwrap_or_default()
            )),
            None => {}
        }
        o.push_str(&opt("xmeld:geburtsort", &q.geburtsort));
        o.push_str("</xmeld:geburtsdaten>");
    }
    if let Some(g) = &q.geschlecht {
        o.push_str(&format!(
            "<xmeld:geschlecht listVersionID=\"1\"><code>{}</code></xmeld:geschlecht>",
            esc(g)
        ));
    }
    o.push_str("</xmeld:auswahldaten></xmeld:suchprofil><xmeld:steuerungsinformationen>");
    anforderung(&mut o, codes);
    if let Some(a) = q.aktualitaet_person {
        o.push_str(&aktualitaet("xmeld:aktualitaetPerson", a));
    }
    o.push_str(&suchbereich(&q.suchbereich));
    o.push_str("</xmeld:steuerungsinformationen></xmeld:datenabruf.freieSuche.suchanfrage.1332>");
    o
}

fn aktualitaet(tag: &str, a: Aktualitaet) -> String {
    match a {
        Aktualitaet::Aktuell => format!("<{tag}><code>01</code></{tag}>"),
        Aktualitaet::Inaktuell => format!("<{tag}><code>02</code></{tag}>"),
        Aktualitaet::Beide => String::new(),
    }
}
