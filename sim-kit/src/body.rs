//! Reading request bodies with a limit: a declared `Content-Length` over the limit is refused before any
//! byte is read; a body that grows past the limit is refused as soon as it does.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("request body{} exceeds the limit of {limit} bytes", .declared.map(|d| format!(" of {d} bytes")).unwrap_or_default())]
    TooLarge { declared: Option<u64>, limit: usize },
    #[error("request body could not be read completely: {0}")]
    Truncated(String),
}

impl BodyError {
    pub fn rule(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "http.body-limit",
            BodyError::Truncated(_) => "http.body-truncated",
        }
    }
}

/// The declared length, if any.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let declared = content_length(headers);
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { declared, limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(BodyError::TooLarge { declared, limit })
            } else {
                Err(BodyError::Truncated(e.to_string()))
            }
        }
    }
}
