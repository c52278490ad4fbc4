//! Warnings the API server attaches to responses (`Warning: 299 - "..."`): use of a deprecated
//! API version, a field the server dropped, a policy that will start refusing the request. kubectl
//! prints them; klient hands them to the application (by default its log).
//!
//! The header follows RFC 7234 §5.5: `warn-code SP warn-agent SP "warn-text" [SP "warn-date"]`,
//! several per field separated by commas, and possibly several fields. The API server always
//! writes code 299 and agent `-`.

use std::fmt;

use http::HeaderMap;

/// One warning from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The warn-code (299: a miscellaneous persistent warning, what the API server sends).
    pub code: u16,
    /// Who added it (`-` when the server does not say).
    pub agent: String,
    /// What it says.
    pub text: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Every well-formed warning in `headers`, in order. Malformed ones are skipped: a warning is
/// advice, and a broken one must not fail the response it came with.
pub fn warnings(headers: &HeaderMap) -> Vec<Warning> {
    let mut out = Vec::new();
    for value in headers.get_all(http::header::WARNING) {
        // Not `to_str`, which refuses any byte past ASCII: the API server allows UTF-8 text
        // (an admission webhook's warning in the user's language).
        let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
            continue;
        };
        let mut rest = text;
        while !rest.trim_start().is_empty() {
            match parse_one(rest.trim_start()) {
                Some((warning, after)) => {
                    out.push(warning);
                    rest = after;
                }
                None => break,
            }
            rest = rest.trim_start();
            match rest.strip_prefix(',') {
                Some(after) => rest = after,
                None => break,
            }
        }
    }
    out
}

/// One `code agent "text" ["date"]`, and what follows it.
fn parse_one(input: &str) -> Option<(Warning, &str)> {
    let (code, rest) = input.split_once(' ')?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (agent, rest) = rest.trim_start().split_once(' ')?;
    let (text, mut rest) = quoted(rest.trim_start())?;
    // An optional warn-date, itself quoted.
    if rest.trim_start().starts_with('"') {
        rest = quoted(rest.trim_start())?.1;
    }
    let warning = Warning {
        code: code.parse().ok()?,
        agent: agent.to_owned(),
        text,
    };
    Some((warning, rest))
}

/// A quoted-string with `\` escapes, and what follows it.
fn quoted(input: &str) -> Option<(String, &str)> {
    let mut chars = input.strip_prefix('"')?.char_indices();
    let mut text = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((text, &input[i + 2..])),
            '\\' => text.push(chars.next()?.1),
            c => text.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(http::header::WARNING, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_api_servers_warnings_are_read_in_order() {
        let found = warnings(&headers(&[
            r#"299 - "policy/v1beta1 PodDisruptionBudget is deprecated", 299 - "unknown field \"spec.foo\"""#,
            r#"299 proxy:8080 "third" "Wed, 25 Nov 2026 22:00:00 GMT""#,
        ]));
        let texts: Vec<_> = found
            .iter()
            .map(|w| (w.code, w.agent.as_str(), w.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                (299, "-", "policy/v1beta1 PodDisruptionBudget is deprecated"),
                (299, "-", r#"unknown field "spec.foo""#),
                (299, "proxy:8080", "third"),
            ]
        );
    }

    #[test]
    fn utf8_warnings_are_delivered() {
        let mut headers = HeaderMap::new();
        let value =
            HeaderValue::from_bytes("299 - \"Ressource veraltet: bitte v1 verwenden, ä ö ü\"".as_bytes())
                .unwrap();
        headers.append(http::header::WARNING, value);
        let found = warnings(&headers);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, "Ressource veraltet: bitte v1 verwenden, ä ö ü");
    }

    #[test]
    fn malformed_warnings_are_skipped_not_fatal() {
        assert!(warnings(&headers(&["nonsense", "2990 - \"x\"", "299 - \"unterminated"])).is_empty());
        let found = warnings(&headers(&["299 - \"ok\", garbage"]));
        assert_eq!(found.len(), 1);
    }
}
