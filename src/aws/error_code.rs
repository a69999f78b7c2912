//! The AWS error code in a response, whatever the protocol's error shape:
//! `x-amzn-ErrorType` (JSON protocols), `"__type"`/`"code"` in a JSON body,
//! or `<Code>` in an XML body.

use http::HeaderMap;

/// The error code of an error response with `headers` whose body begins
/// with `body`, if it names one.
pub fn error_code(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let header = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(':').next().unwrap_or(v));
    let code = match header {
        Some(code) => code.to_string(),
        None => from_body(&String::from_utf8_lossy(body))?,
    };
    // `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException` → the name.
    let code = code.rsplit('#').next().unwrap_or(&code).trim().to_string();
    let plausible =
        !code.is_empty() && code.len() <= 128 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    plausible.then_some(code)
}

fn from_body(body: &str) -> Option<String> {
    if let Some(start) = body.find("<Code>") {
        let rest = &body[start + "<Code>".len()..];
        return rest.find("</Code>").map(|end| rest[..end].to_string());
    }
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    ["__type", "code", "Code"]
        .iter()
        .find_map(|k| json.get(k).and_then(|v| v.as_str()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_header_or_either_body_shape() {
        let none = HeaderMap::new();
        let mut json_header = HeaderMap::new();
        json_header.insert(
            "x-amzn-errortype",
            "ValidationException:http://internal.amazon.com/".parse().unwrap(),
        );
        assert_eq!(error_code(&json_header, b"").as_deref(), Some("ValidationException"));
        assert_eq!(
            error_code(
                &none,
                br#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"}"#
            )
            .as_deref(),
            Some("ResourceNotFoundException")
        );
        let xml = b"<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>gone</Message></Error>";
        assert_eq!(error_code(&none, xml).as_deref(), Some("NoSuchKey"));
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code></Error></ErrorResponse>";
        assert_eq!(error_code(&none, query).as_deref(), Some("AccessDenied"));
        assert_eq!(error_code(&none, b"<html>Bad Gateway</html>"), None);
        assert_eq!(error_code(&none, b"<Code>not a <b>code</b></Code>"), None);
    }
}
