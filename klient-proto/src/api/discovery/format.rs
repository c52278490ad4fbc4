//! Content negotiation: asking for aggregated discovery, and telling from the `Content-Type`
//! whether the server answered with it or with the legacy documents.

/// The `Accept` header of an aggregated discovery request: apidiscovery.k8s.io/v2 (served since
/// Kubernetes 1.30), then v2beta1 (1.26 to 1.32), then plain JSON, which older servers answer with
/// the legacy `APIVersions`/`APIGroupList`. Parameters stay in the order `g`, `v`, `as`, which the
/// server requires in `Accept` (it accepts any order nowhere else).
pub const ACCEPT_AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// The `Accept` header of a legacy discovery request.
pub const ACCEPT_LEGACY: &str = "application/json";

/// What a discovery response's `Content-Type` says its body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFormat {
    /// An `APIGroupDiscoveryList` of apidiscovery.k8s.io/v2.
    AggregatedV2,
    /// An `APIGroupDiscoveryList` of apidiscovery.k8s.io/v2beta1 (the same fields as v2).
    AggregatedV2Beta1,
    /// Plain JSON: a legacy discovery document. A missing `Content-Type` counts as this too; the
    /// decoder then rejects a body that is not one.
    LegacyJson,
    /// Anything else (protobuf, HTML, text).
    Other,
}

impl ResponseFormat {
    /// Reads a `Content-Type` value. Parameter order, spacing, case of names and quoting do not
    /// matter, and unknown parameters (`charset`) are ignored.
    ///
    /// ```
    /// use klient_proto::api::ResponseFormat;
    /// let ct = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    /// assert_eq!(ResponseFormat::of(Some(ct)), ResponseFormat::AggregatedV2);
    /// assert_eq!(ResponseFormat::of(Some("application/json")), ResponseFormat::LegacyJson);
    /// ```
    pub fn of(content_type: Option<&str>) -> ResponseFormat {
        let Some(content_type) = content_type else {
            return ResponseFormat::LegacyJson;
        };
        let mut parts = content_type.split(';');
        let base = parts.next().unwrap_or_default().trim();
        if !base.eq_ignore_ascii_case("application/json") {
            return ResponseFormat::Other;
        }
        let (mut group, mut version, mut kind) = (None, None, None);
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            match name.trim().to_ascii_lowercase().as_str() {
                "g" => group = Some(value),
                "v" => version = Some(value),
                "as" => kind = Some(value),
                _ => {}
            }
        }
        match (group, version, kind) {
            (None, None, None) => ResponseFormat::LegacyJson,
            (Some("apidiscovery.k8s.io"), Some("v2"), Some("APIGroupDiscoveryList")) => {
                ResponseFormat::AggregatedV2
            }
            (Some("apidiscovery.k8s.io"), Some("v2beta1"), Some("APIGroupDiscoveryList")) => {
                ResponseFormat::AggregatedV2Beta1
            }
            // JSON of some other kind than was asked for.
            _ => ResponseFormat::Other,
        }
    }

    /// Whether the body is an aggregated `APIGroupDiscoveryList`.
    pub fn is_aggregated(self) -> bool {
        matches!(
            self,
            ResponseFormat::AggregatedV2 | ResponseFormat::AggregatedV2Beta1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_aggregated_in_any_parameter_order() {
        for ct in [
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            "application/json; as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io",
            "Application/JSON; AS=APIGroupDiscoveryList ; v=\"v2\"; g=apidiscovery.k8s.io; charset=utf-8",
        ] {
            assert_eq!(ResponseFormat::of(Some(ct)), ResponseFormat::AggregatedV2, "{ct}");
        }
        let beta = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
        assert_eq!(ResponseFormat::of(Some(beta)), ResponseFormat::AggregatedV2Beta1);
        assert!(ResponseFormat::of(Some(beta)).is_aggregated());
    }

    #[test]
    fn plain_json_is_legacy_and_anything_else_is_other() {
        assert_eq!(
            ResponseFormat::of(Some("application/json")),
            ResponseFormat::LegacyJson
        );
        assert_eq!(
            ResponseFormat::of(Some("application/json; charset=utf-8")),
            ResponseFormat::LegacyJson
        );
        assert_eq!(ResponseFormat::of(None), ResponseFormat::LegacyJson);
        assert_eq!(
            ResponseFormat::of(Some("application/vnd.kubernetes.protobuf")),
            ResponseFormat::Other
        );
        assert_eq!(ResponseFormat::of(Some("text/html")), ResponseFormat::Other);
        assert_eq!(ResponseFormat::of(Some("")), ResponseFormat::Other);
        assert_eq!(
            ResponseFormat::of(Some(
                "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"
            )),
            ResponseFormat::Other
        );
        assert!(!ResponseFormat::LegacyJson.is_aggregated());
    }

    #[test]
    fn accept_header_prefers_v2_and_ends_with_plain_json() {
        let offers: Vec<_> = ACCEPT_AGGREGATED.split(',').collect();
        assert_eq!(offers.len(), 3);
        assert_eq!(ResponseFormat::of(Some(offers[0])), ResponseFormat::AggregatedV2);
        assert_eq!(
            ResponseFormat::of(Some(offers[1])),
            ResponseFormat::AggregatedV2Beta1
        );
        assert_eq!(offers[2], ACCEPT_LEGACY);
        assert!(http::HeaderValue::from_str(ACCEPT_AGGREGATED).is_ok());
    }
}
