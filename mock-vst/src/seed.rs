//! The seed passages (`shared/seeds/002_63d74fbbe60b04e8.txt`, IRD Technische Spezifikation für
//! Versicherungsträger) each diagnosis rests on.

pub const CONTENT_TYPE: &str = "002 \"Eingabeformat\": \"im Format application/json … Zeichenkodierung … UTF-8\"; \"Fehlerfälle\": StatusCode 415";
pub const JSON_RULES: &str = "002 \"Festlegungen zu den JSON-Daten\" (keine Kommentare, keine doppelten Schlüssel, nur Eigenschaften der OpenAPI-Definition; Namen CaseInsensitive)";
pub const REQUIRED: &str = "002 \"Fehlerfälle\": StatusCode 400 \"weil Pflichtangaben fehlen, oder Angaben nicht plausibel sind\"";
pub const AUTH: &str = "002 \"Authentisierung und Authentifizierung\" (\"signierten Anmeldetokens … als Authentication-Header\"); StatusCode 401/403";
pub const REGISTRATION: &str = "002 \"Registrierung an der Schnittstelle\"";
pub const ID_NO_PATIENT_DATA: &str = "002 \"Allgemeiner Hinweis\": \"Innerhalb der Eigenschaften IdDatenlieferung und IdDatensatz dürfen keine patienten- bzw. fallidentifizierende Daten übermittelt werden\"";
pub const ID_UNIQUE: &str =
    "002 Eigenschaft \"IdDatenlieferung\" / \"IdDatensatz\": \"eindeutige Id\"";
pub const KVNR: &str = "002 IdVersicherter \"Prüfungen\": \"gültigen KVNR (Regex: ^[A-Z]{1}[0-9]{9}$, sowie Prüfung der Prüfsumme)\"";
pub const KVNR_RESERVED: &str = "002 Fußnote 1: \"KVNR bei Meldungen für Patienten ohne deutsche Krankenversicherung werden nicht akzeptiert\"";
pub const KVNR_ENVIRONMENT: &str = "002 Fußnote 2 and \"Testdaten Krankenversichertennummer\" (Nummernkreis A1111xxxxP); StatusCode 403 \"Verwendung von produktiven Daten in der Referenz-Umgebung\"";
pub const KVNR_ALT: &str = "002 IdVersicherterAlt: \"Optional: Ja - Muss nur gesetzt werden, wenn der Versicherte bei seiner Vorversicherung unter einer anderen Nummer versichert war\"";
pub const IK: &str = "002 IkAlt \"Prüfungen\": \"valide Institutionskennzeichen (Regex: ^[0-9]{9}$, sowie Prüfung der Prüfsumme)\"";
pub const SIGNATURE_IN: &str = "002 \"Signierung der Eingangsdaten\", \"Signaturbildung der Eingangsdaten\" (hex dumps), \"Übergreifende Beispiele / Signierung der Eingangsdaten\" (CMS, detached, ECDSA)";
pub const SIGNER_ROLE: &str = "002 \"Übergreifende Beispiele / Signierung der Eingangsdaten\": \"eine detached nonQES - Signatur …, die mithilfe des Signatur-Zertifikats auf der SMC-B-Karte gebildet wird\"; StatusCode 400";
pub const SIGNATURE_OUT: &str = "002 \"Signierung der Ausgangsdaten\": \"ECDSA-Signatur, die über den SHA256-Hash der Daten der Antwort gebildet wird\"";
pub const ENCRYPTION: &str = "002 \"Übergreifende Beispiele / Verschlüsselung der Eingangsdaten\" (ECDH, HKDF \"VST-IRD-Transport\", AES-GCM, 0x01 || X || Y || IV || ct+tag)";
pub const RECIPIENT: &str = "002 IdVersicherter \"für die Vertrauensstelle verschlüsselt\"; Vitalstatus/Sterbedatum \"für die Registerstelle verschlüsselt\"";
pub const KEY_REUSE: &str = "002 \"Verschlüsselung der Eingangsdaten\": \"für jeden verschlüsselten Wert muss ein eigenes, temporäres Schlüsselpaar …\", \"für jede AES-GCM-Verschlüsselungsoperation muss ein eigener, zufällig gewürfelter IV gebildet werden\"";
pub const VITALSTATUS: &str = "002 Vitalstatus \"Prüfungen\": \"01\"=Lebend, \"02\"=Verstorben, \"03\"=Unbekannt (asynchron bei der Registerstelle)";
pub const STERBEDATUM: &str = "002 Sterbedatum \"Prüfungen\": yyyy-mm-dd oder Ersatzwert \"---N/A----\" (asynchron bei der Registerstelle)";
pub const PROCESSING_ERRORS: &str =
    "002 \"Fehlerfälle\": asynchrone Fehler \"über einen gesonderten Abruf\" (Polling)";
pub const BODY_LIMIT: &str =
    "002 \"Nichtfunktionale Festlegungen\": \"aktuell in Klärung\" (konform's limit, configurable)";
pub const WELLKNOWN: &str =
    "002 \"Downloadpunkt für den Abruf von Schlüsselmaterial der Vertrauensstelle\"";
pub const WELLKNOWN_VALIDITY: &str = "002 \"Downloadpunkt für den Abruf von Schlüsselmaterial der Vertrauensstelle\": \"vor der Verwendung des JWT-Token … muss die Gültigkeit des Tokens überprüft werden. Dazu zählen die zeitliche Gültigkeit des Tokens …\"";
pub const WELLKNOWN_TI_CERT: &str = "002 \"Downloadpunkt für den Abruf von Schlüsselmaterial der Vertrauensstelle\": \"Außerdem muss das im Token angegebene Signaturzertifikat der TI geprüft werden\"";
