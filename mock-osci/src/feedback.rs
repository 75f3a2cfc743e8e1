//! OSCI feedback codes and their texts (German and English), as the Java OSCI-Bibliothek 2.4.1 ships them
//! in `de/osci/osci12/extinterfaces/language/Text_{de,en}.properties` (facts: code → text). 0xxx success,
//! 3xxx warning, 9xxx error. Message-level errors travel as SOAP faults; `soap:Server` only for 9000 and
//! 9503 (`SOAPFault.java`).

/// (code, German text, English text)
pub const CODES: &[(&str, &str, &str)] = &[
    (
        "0800",
        "Auftrag ausgeführt, Dialog beendet",
        "Request executed, dialog closed",
    ),
    (
        "0801",
        "Auftrag ausgeführt, Dialog weiterhin geöffnet",
        "Request executed, dialog continues to be open",
    ),
    (
        "3500",
        "Chiffrierzertifikat des Clients ist zeitlich ungültig",
        "Encryption certificate of the client is invalid with regard to time",
    ),
    (
        "3501",
        "Prüfung des Chiffrierzertifikats des Clients konnte nicht vollständig durchgeführt werden",
        "Check of the client's encryption certificate could not be performed completely",
    ),
    (
        "3700",
        "Signierzertifikat des Clients ist zeitlich ungültig",
        "Signature certificate of the client is invalid with regard to time",
    ),
    (
        "3701",
        "Signierzertifikat eines Autors ist zeitlich ungültig",
        "Signature certificate of one of the authors is invalid with regard to time",
    ),
    (
        "3702",
        "Signatur über das Signierzertifikat eines Autors ist fehlerhaft",
        "Signature over the signature certificate of one of the authors is invalid",
    ),
    (
        "3703",
        "Signierzertifikat eines Autors ist widerrufen",
        "Signature certificate of one of the authors has been revoked",
    ),
    (
        "3704",
        "Chiffrierzertifikat eines Autors ist zeitlich ungültig",
        "Encryption certificate of one of the authors is invalid with regard to time",
    ),
    (
        "3705",
        "Chiffrierzertifikat des Empfängers ist zeitlich ungültig",
        "Encryption certificate of the recipient is invalid with regard to time",
    ),
    (
        "3706",
        "Chiffrierzertifikat eines Lesers ist zeitlich ungültig",
        "Encryption certificate of one of the readers is invalid with regard to time",
    ),
    (
        "3707",
        "Zertifikatsprüfung konnte nicht vollständig durchgeführt werden",
        "Certificate check could not be performed completely",
    ),
    (
        "3708",
        "Signierzertifikat des Empfängers ist zeitlich ungültig",
        "Signature certificate of the recipient is invalid with regard to time",
    ),
    (
        "3800",
        "Es liegen weitere Zustellungen für diesen Client vor",
        "There are further deliveries present for this client",
    ),
    (
        "3801",
        "Zu den im Auftrag angegebenen Kriterien liegen weitere Laufzettel vor",
        "There are further process cards present that meet the criteria given in the request",
    ),
    (
        "3802",
        "Signatur des Empfängers über die Annahme- bzw. Bearbeitungsantwort fehlt",
        "Signature of the recipient over the acceptance response or processing response is missing",
    ),
    (
        "3803",
        "Der Empfänger hat eine unverschlüsselte Auftragsantwort gesendet",
        "Recipient has sent an unencrypted response message",
    ),
    (
        "3950",
        "Rückmeldungen für die Verarbeitung der Gesamtnachricht vorhanden",
        "There is inside feedback for the processed inner message",
    ),
    (
        "3951",
        "Maximale Wartezeit für die Verarbeitung der Gesamtnachricht überschritten",
        "Reached maximum processing time of the inner message",
    ),
    (
        "3952",
        "Innere Nachricht befindet sich noch in Verarbeitung",
        "Inner message is still in processing",
    ),
    (
        "9000",
        "Interner Fehler beim Supplier",
        "Internal error at the supplier's",
    ),
    (
        "9100",
        "Empfangene Nachricht stellt keine gültige OSCI-Nachricht dar",
        "Received message is no valid OSCI message",
    ),
    (
        "9200",
        "Supplier verfügt nicht über den privaten Schlüssel zum Chiffrierzertifikat auf Nachrichtenebene",
        "Supplier does not have the private key for the encryption certificate on the message level at his disposal",
    ),
    (
        "9201",
        "Chiffrierzertifikat auf Nachrichtenebene ist widerrufen",
        "Encryption certificate on the message level has been revoked",
    ),
    (
        "9202",
        "Auftragsdaten konnten nicht entschlüsselt werden",
        "Request data could not be decrypted",
    ),
    (
        "9300",
        "Auftragsdaten stellen keinen gültigen Auftrag dar",
        "Request data do not represent a valid request",
    ),
    (
        "9400",
        "ConversationId oder SequenceNumber oder Response nicht korrekt",
        "ConversationId or SequenceNumber or response value are not correct",
    ),
    (
        "9500",
        "Chiffrierzertifikat des Clients ist nicht in den Auftragsdaten enthalten",
        "Encryption certificate of the client is not included in the request data",
    ),
    (
        "9501",
        "Signatur über das Chiffrierzertifikat des Clients ist fehlerhaft",
        "Signature on the encryption certificate of the client is invalid",
    ),
    (
        "9502",
        "Chiffrierzertifikat des Clients ist widerrufen",
        "Encryption certificate of the client has been revoked",
    ),
    (
        "9503",
        "Interner Fehler des Suppliers beim Ermitteln oder Prüfen des Chiffrierzertifikats",
        "Internal error at the supplier's when determining or checking the encryption certificate",
    ),
    (
        "9600",
        "Auftrag ist nicht signiert, obwohl dieser Supplier für diesen Auftragstyp eine Signatur verlangt",
        "Request has not been signed, although this supplier demands signature for this request type",
    ),
    (
        "9601",
        "Signatur über Auftrag ist fehlerhaft",
        "Signature for request is invalid",
    ),
    (
        "9602",
        "Es sind nicht alle geforderten Elemente des Auftrags signiert",
        "Not all of the required elements of the request have been signed.",
    ),
    (
        "9603",
        "Interner Fehler des Suppliers beim Prüfen der Signatur",
        "Internal error at the supplier's when checking the signature",
    ),
    (
        "9700",
        "Signatur über das Signierzertifikat des Clients ist fehlerhaft",
        "Signature over the signature certificate of the client is invalid",
    ),
    (
        "9701",
        "Signierzertifikat des Clients ist widerrufen",
        "Signature certificate of the client has been revoked",
    ),
    (
        "9704",
        "Signatur über das Chiffrierzertifikat eines Autors ist fehlerhaft",
        "Signature over the encryption certificate of one of the authors is invalid",
    ),
    (
        "9705",
        "Chiffrierzertifikat eines Autors ist widerrufen",
        "Encryption certificate of one of the authors has been revoked",
    ),
    (
        "9706",
        "Signatur über das Chiffrierzertifikat des Empfängers ist fehlerhaft",
        "Signature over the encryption certificate of the recipient is invalid",
    ),
    (
        "9707",
        "Chiffrierzertifikat des Empfängers ist widerrufen",
        "Encryption certificate of the recipient has been revoked",
    ),
    (
        "9708",
        "Signatur über das Chiffrierzertifikat eines Lesers ist fehlerhaft",
        "Signature over the encryption certificate of one of the readers is invalid",
    ),
    (
        "9709",
        "Chiffrierzertifikat eines Lesers ist widerrufen",
        "Encryption certificate of one of the readers has been revoked",
    ),
    (
        "9710",
        "Interner Fehler des Suppliers bei der Zertifikatsprüfung",
        "Internal error at the supplier's when performing the certificate check",
    ),
    (
        "9711",
        "Signatur über das Signierzertifikat des Empfängers ist fehlerhaft",
        "Signature over the signature certificate of the recipient is invalid",
    ),
    (
        "9712",
        "Signierzertifikat des Empfängers ist widerrufen",
        "Signature certificate of the recipient has been revoked",
    ),
    (
        "9800",
        "Annahme der Zustellung ohne MessageId verweigert",
        "Acceptance of delivery without MessageId rejected",
    ),
    (
        "9801",
        "Illegale MessageId (MessageId wurde nicht von diesem Supplier erzeugt oder MessageId wurde schon einmal verwendet)",
        "Illegal MessageId (MessageId was not generated by this supplier or MessageId has already been used)",
    ),
    (
        "9802",
        "Auftrag nicht innerhalb eines expliziten Dialogs gesendet, obwohl dies für diesen Auftragstyp gefordert ist",
        "Request has not been sent within an explicit dialog, although this is demanded for this request type",
    ),
    (
        "9803",
        "Zu den im Auftrag angegebenen Kriterien ist keine Zustellung vorhanden",
        "There is no delivery present that meets the criteria given in the request",
    ),
    (
        "9804",
        "Zu den im Auftrag angegebenen Kriterien ist kein Laufzettel vorhanden",
        "There is no process card present that meets the criteria given in the request",
    ),
    (
        "9805",
        "Empfänger hat Zustellung des Senders nicht angenommen",
        "Delivery of the sender has not been accepted by the recipient",
    ),
    (
        "9806",
        "Empfänger hat Zustellung des Senders angenommen, seine Auftragsantwort enthält aber keine Zustellung an den Sender",
        "Delivery of the sender has been accepted by the recipient, but his response does not contain any delivery to the sender",
    ),
    (
        "9807",
        "Signatur des Empfängers über die Annahme- bzw. Bearbeitungsantwort fehlerhaft",
        "Signature of the recipient over the acceptance response or processing response is invalid",
    ),
    (
        "9808",
        "Interner Fehler des Empfängers",
        "Internal error at the recipient's",
    ),
    (
        "9809",
        "Interner Fehler des Intermediärs bei Weiterleitungs- oder Abwicklungsauftrag, Zustellung hat den Empfänger nicht erreicht",
        "Internal error at the intermediary's during forwarding or mediate delivery request. Delivery has not reached the recipient.",
    ),
    (
        "9810",
        "Interner Fehler des Intermediärs bei Weiterleitungs- oder Abwicklungsauftrag, Zustellung hat den Empfänger erreicht",
        "Internal error at the intermediary's during forwarding or mediate delivery request. Delivery has reached the recipient.",
    ),
    (
        "9811",
        "Interner Fehler des Suppliers bei der Ausführung des Auftrags",
        "Internal error at the supplier's when executing the request",
    ),
    (
        "9900",
        "Nachrichten-Chunk doppelt eingereicht",
        "Chunk already exists",
    ),
    ("9901", "Falsche Chunk-Nummer", "Wrong chunk number"),
    (
        "9902",
        "Maximale Chunk-Größe überschritten",
        "Maximum chunk size exceeded",
    ),
    (
        "9903",
        "Minimale Chunk-Größe unterschritten",
        "Minimum chunk size not reached",
    ),
    (
        "9904",
        "Maximale Nachrichtengröße überschritten",
        "Maximum message size exceeded",
    ),
    (
        "9905",
        "Falsche Chunk-Informationen",
        "Wrong chunk information",
    ),
];

/// The text of a code in the first language of `languages` that we have (`de` otherwise).
pub fn text(code: &str, languages: &str) -> &'static str {
    let english = languages
        .split_whitespace()
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case("en") || l.to_ascii_lowercase().starts_with("en-"));
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, de, en)| if english { *en } else { *de })
        .unwrap_or("")
}

/// The language tag written into `osci:Entry xml:lang` (the library writes its DesiredLanguages list).
pub fn lang(languages: &str) -> &str {
    let l = languages.split_whitespace().next().unwrap_or("de");
    if l.is_empty() { "de" } else { l }
}

/// Message-level codes (9000–9699) are answered with a SOAP fault; request-level errors (97xx, 98xx)
/// travel as a Feedback entry in the response to the request.
pub fn is_fault(code: &str) -> bool {
    code.len() == 4 && code.as_bytes()[0] == b'9' && code < "9700"
}

/// `soap:Server` only for internal errors of the supplier.
pub fn fault_code(code: &str) -> &'static str {
    if code == "9000" || code == "9503" {
        "Server"
    } else {
        "Client"
    }
}

pub fn is_known(code: &str) -> bool {
    CODES.iter().any(|(c, _, _)| *c == code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn texts() {
        assert_eq!(
            super::text("0800", "de"),
            "Auftrag ausgeführt, Dialog beendet"
        );
        assert_eq!(super::text("0800", "en"), "Request executed, dialog closed");
        assert_eq!(super::fault_code("9503"), "Server");
        assert_eq!(super::fault_code("9400"), "Client");
    }
}
