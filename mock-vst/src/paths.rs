//! The seed's paths, once (the router, the state's description, tests and clients use these).

/// Prefix of every API path.
pub const BASE: &str = "/notify/api/v1";
pub const VITALSTATUS: &str = "/notify/api/v1/vitalstatusnotification";
pub const REQUESTS: &str = "/notify/api/v1/vitalstatusnotification/requests";
pub const ANONYMIZATIONS: &str =
    "/notify/api/v1/vitalstatusnotification/anonymizationnotifications";
pub const VITALSTATUS_ERRORS: &str = "/notify/api/v1/vitalstatusnotification/processingerrors";
pub const INSURANCEUPDATE: &str = "/notify/api/v1/insuranceupdatenotification";
pub const INSURANCEUPDATE_ERRORS: &str =
    "/notify/api/v1/insuranceupdatenotification/processingerrors";
/// "Downloadpunkt … XXXXXXXXX/.wellknown"; `/.well-known` (RFC 8615 spelling) is served too.
pub const WELLKNOWN: &str = "/.well-known";
pub const WELLKNOWN_ALIAS: &str = "/.wellknown";
pub const OPENAPI: &str = "/openapi.json";

/// Every endpoint of the seed (plus the `.well-known` alias and the OpenAPI document).
pub const ENDPOINTS: [&str; 9] = [
    "POST /notify/api/v1/vitalstatusnotification",
    "GET /notify/api/v1/vitalstatusnotification/requests",
    "GET /notify/api/v1/vitalstatusnotification/anonymizationnotifications",
    "GET /notify/api/v1/vitalstatusnotification/processingerrors",
    "POST /notify/api/v1/insuranceupdatenotification",
    "GET /notify/api/v1/insuranceupdatenotification/processingerrors",
    "GET /.well-known",
    "GET /.wellknown",
    "GET /openapi.json",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_the_path_constants() {
        let paths = [
            VITALSTATUS,
            REQUESTS,
            ANONYMIZATIONS,
            VITALSTATUS_ERRORS,
            INSURANCEUPDATE,
            INSURANCEUPDATE_ERRORS,
            WELLKNOWN,
            WELLKNOWN_ALIAS,
            OPENAPI,
        ];
        for (e, p) in ENDPOINTS.iter().zip(paths) {
            assert_eq!(e.split_once(' ').map(|(_, p)| p), Some(p));
        }
        assert!(paths[..6].iter().all(|p| p.starts_with(BASE)));
    }
}
