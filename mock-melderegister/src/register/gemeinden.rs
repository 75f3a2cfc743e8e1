//! Niedersachsen municipalities the synthetic register places residents in: Amtlicher Gemeindeschlüssel
//! (Land `03`, Regierungsbezirk, Kreis, Gemeinde) and name as in the Gemeindeverzeichnis, one postcode
//! each, and a weight for the fictitious population. Only the keys and names are real; every resident is
//! invented.

/// (AGS, name, PLZ, weight)
pub const GEMEINDEN: &[(&str, &str, &str, u32)] = &[
    ("03101000", "Braunschweig", "38100", 25),
    ("03102000", "Salzgitter", "38226", 10),
    ("03103000", "Wolfsburg", "38440", 12),
    ("03151009", "Gifhorn", "38518", 4),
    ("03153017", "Goslar", "38640", 5),
    ("03157006", "Peine", "31224", 5),
    ("03158037", "Wolfenbüttel", "38300", 5),
    ("03159016", "Göttingen", "37073", 12),
    ("03241001", "Hannover", "30159", 53),
    ("03241002", "Barsinghausen", "30890", 3),
    ("03241005", "Garbsen", "30823", 6),
    ("03241009", "Laatzen", "30880", 4),
    ("03241010", "Langenhagen", "30853", 5),
    ("03241011", "Lehrte", "31275", 4),
    ("03241021", "Wunstorf", "31515", 4),
    ("03252006", "Hameln", "31785", 6),
    ("03254021", "Hildesheim", "31134", 10),
    ("03256025", "Nienburg/Weser", "31582", 3),
    ("03351006", "Celle", "29221", 7),
    ("03352011", "Cuxhaven", "27472", 5),
    ("03355022", "Lüneburg", "21335", 8),
    ("03359038", "Stade", "21682", 5),
    ("03360025", "Uelzen", "29525", 3),
    ("03361012", "Verden (Aller)", "27283", 3),
    ("03401000", "Delmenhorst", "27749", 8),
    ("03402000", "Emden", "26721", 5),
    ("03403000", "Oldenburg (Oldb)", "26121", 17),
    ("03404000", "Osnabrück", "49074", 17),
    ("03405000", "Wilhelmshaven", "26382", 8),
    ("03452001", "Aurich", "26603", 4),
    ("03453004", "Cloppenburg", "49661", 4),
    ("03454032", "Lingen (Ems)", "49808", 5),
    ("03456015", "Nordhorn", "48529", 5),
    ("03457013", "Leer (Ostfriesland)", "26789", 3),
    ("03459024", "Melle", "49324", 5),
    ("03460009", "Vechta", "49377", 3),
];

/// The Land key of Niedersachsen.
pub const LAND: &str = "03";

pub fn name_of(ags: &str) -> Option<&'static str> {
    GEMEINDEN.iter().find(|g| g.0 == ags).map(|g| g.1)
}

/// Whether an 8-digit AGS belongs to Niedersachsen (the mirror answers for every Meldebehörde there).
pub fn in_niedersachsen(ags: &str) -> bool {
    ags.len() == 8 && ags.bytes().all(|b| b.is_ascii_digit()) && ags.starts_with(LAND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_well_formed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (ags, name, plz, w) in GEMEINDEN {
            assert!(in_niedersachsen(ags), "{ags}");
            assert!(seen.insert(*ags), "{ags} twice");
            assert!(!name.is_empty() && plz.len() == 5 && *w > 0);
        }
        assert_eq!(name_of("03241001"), Some("Hannover"));
        assert!(!in_niedersachsen("09462000"));
    }
}
