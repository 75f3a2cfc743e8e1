//! The selection data and control information of a freie Suche (1332).

use super::parse::{Waffenauswahl, child, err, hausnummer_fields, name_text, teil_datum};
use super::tree::{Node, SchemaError, path_join};
use crate::search::query::*;

fn aktualitaet(el: &sim_kit::xmltree::Element, path: &str) -> Result<Aktualitaet, SchemaError> {
    match Node::code_of(el, path)?.as_str() {
        "01" => Ok(Aktualitaet::Aktuell),
        "02" => Ok(Aktualitaet::Inaktuell),
        other => Err(err(
            "xmeld.schema.code",
            path,
            format!(
                "`{other}` ist nicht in der Codeliste freie.suche.aktualitaet.suche.status (01, 02)"
            ),
        )),
    }
}

fn suchbereich(st: Node<'_>) -> Result<Suchbereich, SchemaError> {
    let mut p = String::new();
    let sb = child(st, true, "suchbereich", &mut p)?;
    type Make = fn(String) -> Suchbereich;
    let variants: [(&str, bool, usize, Make); 4] = [
        ("bundesland", true, 2, Suchbereich::Bundesland),
        ("bezirk", true, 3, Suchbereich::Bezirk),
        ("kreis", true, 5, Suchbereich::Kreis),
        ("gemeindeschluessel", true, 8, Suchbereich::Gemeinde),
    ];
    for (local, q, len, make) in variants {
        if let Some(e) = sb.opt(q, local)? {
            let loc = path_join(sb.path, q, local);
            let code = Node::code_of(e, &loc)?;
            if code.len() != len || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(
                    "xmeld.schema.suchbereich",
                    &loc,
                    format!("Schlüssel `{code}` für {local}: {len} Ziffern erwartet"),
                ));
            }
            return Ok(make(code));
        }
    }
    Err(err(
        "xmeld.schema.required",
        sb.path,
        "suchbereich: bundesland, bezirk, kreis oder gemeindeschluessel erforderlich",
    ))
}

fn names(a: Node<'_>, q: &mut FreieSuche) -> Result<(), SchemaError> {
    let Some(nw) = a.opt(true, "name")? else {
        return Ok(());
    };
    let np = path_join(a.path, true, "name");
    let nw = Node { el: nw, path: &np };
    if let Some(p) = nw.opt(true, "phonetik")? {
        q.phonetik = Node::bool_of(p, &path_join(nw.path, true, "phonetik"))?;
    }
    let Some(n) = nw.opt(true, "name")? else {
        return Ok(());
    };
    let np2 = path_join(nw.path, true, "name");
    let n = Node { el: n, path: &np2 };
    if let Some(nv) = n.opt(true, "nachnameUndVornamen")? {
        let vp = path_join(n.path, true, "nachnameUndVornamen");
        let nv = Node { el: nv, path: &vp };
        if let Some(v) = nv.opt(true, "vornamen")? {
            q.vornamen = Some(name_text(v, &path_join(&vp, true, "vornamen"))?);
        }
        if let Some(v) = nv.opt(true, "nachname")? {
            q.nachname = Some(name_text(v, &path_join(&vp, true, "nachname"))?);
        }
    }
    q.ordens_oder_kuenstlername = n.opt_text(true, "ordensOderKuenstlername")?;
    Ok(())
}

fn wohnung(a: Node<'_>, q: &mut FreieSuche) -> Result<(), SchemaError> {
    let Some(w) = a.opt(true, "wohnung")? else {
        return Ok(());
    };
    let wp = path_join(a.path, true, "wohnung");
    let w = Node { el: w, path: &wp };
    if let Some(ak) = w.opt(true, "aktualitaetAnschrift")? {
        q.aktualitaet_anschrift = Some(aktualitaet(
            ak,
            &path_join(w.path, true, "aktualitaetAnschrift"),
        )?);
    }
    let Some(an) = w.opt(true, "anschrift")? else {
        return Ok(());
    };
    let ap = path_join(w.path, true, "anschrift");
    let an = Node { el: an, path: &ap };
    let Some(inl) = an.opt(true, "anschrift.inland")? else {
        return Ok(());
    };
    let ip = path_join(an.path, true, "anschrift.inland");
    let i = Node { el: inl, path: &ip };
    // The xima-derived fields are unqualified (form="unqualified" in the schema).
    if let Some(g) = i.opt(false, "gemeindeschluessel")? {
        q.ags = Some(Node::code_of(
            g,
            &path_join(i.path, false, "gemeindeschluessel"),
        )?);
    }
    q.plz = i.opt_text(false, "postleitzahl")?;
    q.strasse = i.opt_text(false, "strasse")?;
    q.wohnort = i.opt_text(false, "wohnort")?;
    if let Some(h) = i.opt(true, "hausnummerOderHausnummernbereich")? {
        let hp = path_join(i.path, true, "hausnummerOderHausnummernbereich");
        let h = Node { el: h, path: &hp };
        if let Some(e) = h.opt(true, "hausnummer")? {
            let ep = path_join(h.path, true, "hausnummer");
            // The fields of the choice are xima types: unqualified children.
            q.hausnummer = Some(HausnummerAuswahl::Einzeln(hausnummer_fields(Node {
                el: e,
                path: &ep,
            })?));
        } else if let Some(b) = h.opt(true, "hausnummernbereich")? {
            let bp = path_join(h.path, true, "hausnummernbereich");
            let b = Node { el: b, path: &bp };
            let num = |local: &str| -> Result<u32, SchemaError> {
                let v = b.req_text(true, local)?;
                v.parse().map_err(|_| {
                    err(
                        "xmeld.schema.hausnummer",
                        &path_join(b.path, true, local),
                        format!("Hausnummer `{v}` im Bereich ist keine Zahl"),
                    )
                })
            };
            q.hausnummer = Some(HausnummerAuswahl::Bereich {
                von: num("hausnummer.von")?,
                bis: num("hausnummer.bis")?,
            });
        }
    }
    Ok(())
}

fn geburt(a: Node<'_>, q: &mut FreieSuche) -> Result<(), SchemaError> {
    let Some(g) = a.opt(true, "geburtsdaten")? else {
        return Ok(());
    };
    let gp = path_join(a.path, true, "geburtsdaten");
    let g = Node { el: g, path: &gp };
    q.geburtsort = g.opt_text(true, "geburtsort")?;
    let Some(t) = g.opt(true, "geburtstag")? else {
        return Ok(());
    };
    let tp = path_join(g.path, true, "geburtstag");
    let t = Node { el: t, path: &tp };
    if let Some(d) = t.opt(true, "geburtsdatum")? {
        let dp = path_join(t.path, true, "geburtsdatum");
        let inner = Node { el: d, path: &dp }.req(true, "geburtsdatum")?;
        q.geburt = Some(Geburt::Datum(teil_datum(
            inner,
            &path_join(&dp, true, "geburtsdatum"),
        )?));
    } else if let Some(z) = t.opt(true, "geburtszeitraum")? {
        let zp = path_join(t.path, true, "geburtszeitraum");
        let z = Node { el: z, path: &zp };
        let von = teil_datum(
            z.req(true, "geburtsdatum.von")?,
            &path_join(z.path, true, "geburtsdatum.von"),
        )?;
        let bis = teil_datum(
            z.req(true, "geburtsdatum.bis")?,
            &path_join(z.path, true, "geburtsdatum.bis"),
        )?;
        q.geburt = Some(Geburt::Zeitraum { von, bis });
    }
    Ok(())
}

/// `suchprofil/auswahldaten` and `steuerungsinformationen` of a 1332.
pub fn freie_suche(a: Node<'_>, st: Node<'_>) -> Result<(FreieSuche, Waffenauswahl), SchemaError> {
    let mut q = FreieSuche::in_area(suchbereich(st)?);
    if let Some(ak) = st.opt(true, "aktualitaetPerson")? {
        q.aktualitaet_person = Some(aktualitaet(
            ak,
            &path_join(st.path, true, "aktualitaetPerson"),
        )?);
    }
    names(a, &mut q)?;
    q.doktorgrad = a.opt_text(true, "doktorgrad")?;
    wohnung(a, &mut q)?;
    geburt(a, &mut q)?;
    if let Some(g) = a.opt(true, "geschlecht")? {
        q.geschlecht = Some(Node::code_of(g, &path_join(a.path, true, "geschlecht"))?);
    }
    if let Some(s) = a.opt(true, "staatsangehoerigkeit")? {
        q.staatsangehoerigkeit = Some(Node::code_of(
            s,
            &path_join(a.path, true, "staatsangehoerigkeit"),
        )?);
    }
    if let Some(s) = a.opt(true, "sterbedaten")? {
        let sp = path_join(a.path, true, "sterbedaten");
        let s = Node { el: s, path: &sp };
        q.sterbeort = s.opt_text(true, "sterbeort")?;
        if let Some(t) = s.opt(true, "sterbetag")? {
            q.sterbetag = Some(teil_datum(t, &path_join(s.path, true, "sterbetag"))?);
        }
    }
    // Using the datum at all is what reasons 04–06 are about, whatever its value.
    let flag = |local: &str| -> Result<bool, SchemaError> {
        match a.opt(true, local)? {
            Some(e) => Node::bool_of(e, &path_join(a.path, true, local)).map(|_| true),
            None => Ok(false),
        }
    };
    let w = Waffenauswahl {
        waffenrechtliche_erlaubnis: flag("waffenrechtlicheErlaubnis")?,
        waffenbesitzverbot: flag("waffenbesitzverbot")?,
        sprengstoffrechtliche_erlaubnis: flag("sprengstoffrechtlicheErlaubnis")?,
    };
    Ok((q, w))
}
