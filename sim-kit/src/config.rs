//! YAML configuration and profile files, with file, line and column in every error.

use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    pub origin: String,
    pub message: String,
}

/// Parse YAML text into `T`. `origin` names the file (or `<embedded>`) in errors.
pub fn from_yaml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, ConfigError> {
    serde_saphyr::from_str(text).map_err(|e| ConfigError {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Read and parse a YAML file.
pub fn load_yaml<T: DeserializeOwned>(path: &std::path::Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        origin: path.display().to_string(),
        message: e.to_string(),
    })?;
    from_yaml(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        port: u16,
    }

    #[test]
    fn errors_name_origin_and_position() {
        let e = from_yaml::<Cfg>("port: 80\nprot: 1\n", "vst.yaml").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("vst.yaml: "), "{s}");
        assert!(s.contains("prot"), "{s}");
        assert!(s.contains('2'), "line number expected: {s}");
        assert_eq!(from_yaml::<Cfg>("port: 80", "x").unwrap().port, 80);
    }
}
