//! Whole-module tests: real-world kubeconfigs, resolution, malformed files, redaction.

use std::path::{Path, PathBuf};

use super::*;

const KIND: &str = r#"
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://127.0.0.1:36187
  name: kind-kind
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZLXMzY3JldA==
"#;

const EKS: &str = r#"
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com
  name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:eu-west-1:123456789012:cluster/prod
    user: arn:aws:eks:eu-west-1:123456789012:cluster/prod
  name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
current-context: arn:aws:eks:eu-west-1:123456789012:cluster/prod
kind: Config
preferences: {}
users:
- name: arn:aws:eks:eu-west-1:123456789012:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - eu-west-1
      - eks
      - get-token
      - --cluster-name
      - prod
      - --output
      - json
      command: aws
      env:
      - name: AWS_PROFILE
        value: prod-admin
"#;

const GKE: &str = r#"
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://34.78.1.2
    extensions:
    - name: client.authentication.k8s.io/exec
      extension:
        audience: gke
        nested: {list: [1, 2.5, true, null]}
  name: gke_proj_europe-west1_main
contexts:
- context:
    cluster: gke_proj_europe-west1_main
    user: gke_proj_europe-west1_main
    namespace: web
    extensions:
    - name: opaque
      extension: [1, 2]
  name: gke_proj_europe-west1_main
current-context: gke_proj_europe-west1_main
kind: Config
preferences: {}
users:
- name: gke_proj_europe-west1_main
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin for use with kubectl by following
        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin
      provideClusterInfo: true
      interactiveMode: IfAvailable
    some-future-field: {whatever: 1}
"#;

fn parse(text: &str) -> Kubeconfig {
    Kubeconfig::from_bytes(text.as_bytes(), Some(PathBuf::from("/home/me/.kube/config"))).unwrap()
}

fn parse_err(text: &[u8]) -> ParseError {
    Kubeconfig::from_bytes(text, Some(PathBuf::from("/cfg/bad.yaml"))).unwrap_err()
}

fn resolve(text: &str) -> Result<ResolvedConfig, ResolveError> {
    parse(text).resolve(&Overrides::default())
}

#[test]
fn kind_config_resolves_to_client_certificate() {
    let resolved = resolve(KIND).unwrap();
    assert_eq!(resolved.context.as_deref(), Some("kind-kind"));
    assert_eq!(
        resolved.cluster.server.host,
        Host::Ip("127.0.0.1".parse().unwrap())
    );
    assert_eq!(resolved.cluster.server.port, 36187);
    assert_eq!(
        resolved.cluster.certificate_authority,
        Some(Source::Inline(b"-----BEGIN CERTIFICATE-----\n".to_vec()))
    );
    assert!(!resolved.cluster.insecure_skip_tls_verify);
    assert_eq!(resolved.namespace, "default");
    assert_eq!(resolved.credentials.auth, Auth::None);
    let cert = resolved.credentials.client_certificate.unwrap();
    assert_eq!(cert.certificate, Source::Inline(b"CERT".to_vec()));
    assert_eq!(cert.key, Source::Inline(SecretBytes::new(b"KEY-s3cret".to_vec())));
}

#[test]
fn eks_exec_plugin_parses_and_defaults_interactive_mode() {
    let resolved = resolve(EKS).unwrap();
    let Auth::Exec(exec) = resolved.credentials.auth else {
        panic!("expected exec")
    };
    assert_eq!(exec.command, "aws");
    assert_eq!(exec.args.len(), 8);
    assert_eq!(exec.env[0].name, "AWS_PROFILE");
    assert_eq!(exec.env[0].value.expose(), "prod-admin");
    // v1beta1 plugins without a mode may use the terminal when there is one.
    assert_eq!(exec.interactive_mode, Some(InteractiveMode::IfAvailable));
    assert_eq!(resolved.cluster.server.port, 443);
}

#[test]
fn gke_config_keeps_extensions_opaque_and_ignores_unknown_fields() {
    let config = parse(GKE);
    let resolved = config.resolve(&Overrides::default()).unwrap();
    assert_eq!(resolved.namespace, "web");
    let Auth::Exec(exec) = &resolved.credentials.auth else {
        panic!("expected exec")
    };
    assert!(exec.provide_cluster_info);
    assert!(
        exec.install_hint
            .as_deref()
            .unwrap()
            .contains("https://cloud.google.com")
    );
    let extension = resolved.cluster.exec_extension.as_ref().unwrap();
    assert_eq!(extension["audience"], "gke");
    assert_eq!(config.contexts[0].context.extensions[0].name, "opaque");
}

#[test]
fn json_kubeconfig_parses_like_yaml() {
    let json = r#"{
      "apiVersion": "v1", "kind": "Config",
      "clusters": [{"name": "c", "cluster": {"server": "http://localhost:8080", "disable-compression": true}}],
      "users": [{"name": "u", "user": {"username": "admin", "password": "pw", "unknown": [1]}}],
      "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "ns"}}],
      "current-context": "x"
    }"#;
    let resolved = resolve(json).unwrap();
    assert_eq!(resolved.cluster.server.scheme, Scheme::Http);
    assert!(resolved.cluster.disable_compression);
    assert_eq!(resolved.namespace, "ns");
    let Auth::Basic { username, password } = resolved.credentials.auth else {
        panic!("expected basic")
    };
    assert_eq!((username.as_str(), password.expose()), ("admin", "pw"));
}

#[test]
fn overrides_replace_context_cluster_user_and_namespace() {
    let text = r#"
clusters:
- {name: a, cluster: {server: "https://a.example"}}
- {name: b, cluster: {server: "https://b.example:8443/base/", tls-server-name: b.internal, proxy-url: "http://proxy:3128"}}
users:
- {name: ua, user: {token: ta}}
- {name: ub, user: {tokenFile: tok, token: initial}}
contexts:
- {name: ca, context: {cluster: a, user: ua}}
- {name: cb, context: {cluster: b, user: ub, namespace: nb}}
current-context: ca
"#;
    let config = parse(text);
    let by_context = config
        .resolve(&Overrides {
            context: Some("cb".into()),
            ..Overrides::default()
        })
        .unwrap();
    assert_eq!(by_context.cluster.server.base_path, "/base");
    assert_eq!(by_context.cluster.tls_server_name.as_deref(), Some("b.internal"));
    assert_eq!(by_context.cluster.proxy_url.as_deref(), Some("http://proxy:3128"));
    assert_eq!(by_context.namespace, "nb");
    assert_eq!(
        by_context.credentials.auth,
        Auth::TokenFile {
            path: "/home/me/.kube/tok".into(),
            initial: Some(SecretString::new("initial"))
        }
    );
    let mixed = config
        .resolve(&Overrides {
            cluster: Some("b".into()),
            user: Some("ua".into()),
            namespace: Some("kube-system".into()),
            ..Overrides::default()
        })
        .unwrap();
    assert_eq!(mixed.context.as_deref(), Some("ca"));
    assert_eq!(mixed.cluster_name.as_deref(), Some("b"));
    assert_eq!(mixed.credentials.auth, Auth::BearerToken(SecretString::new("ta")));
    assert_eq!(mixed.namespace, "kube-system");
    // A cluster override works even without any context.
    let no_context = Kubeconfig {
        current_context: None,
        ..config.clone()
    };
    let only_cluster = no_context.resolve(&Overrides {
        cluster: Some("a".into()),
        ..Overrides::default()
    });
    assert_eq!(only_cluster.unwrap().credentials.auth, Auth::None);
}

#[test]
fn resolution_errors_are_precise() {
    let base = "clusters:\n- {name: c, cluster: {server: 'https://c'}}\n- {name: noserver, cluster: {}}\n\
                - {name: badurl, cluster: {server: 'https://c:99999'}}\n\
                - {name: both, cluster: {server: 'https://c', insecure-skip-tls-verify: true, certificate-authority: ca}}\n\
                users:\n- {name: u, user: {token: t}}\n\
                - {name: two, user: {token: t, username: a, password: s3cret}}\n\
                - {name: certonly, user: {client-certificate: c.crt}}\n\
                - {name: keyonly, user: {client-key-data: a2V5}}\n\
                - {name: groups, user: {token: t, as-groups: [g]}}\n\
                - {name: v1exec, user: {exec: {command: x, apiVersion: client.authentication.k8s.io/v1}}}\n\
                - {name: noversion, user: {exec: {command: x}}}\n\
                contexts:\n- {name: ok, context: {cluster: c, user: u}}\n- {name: nocluster, context: {user: u}}\n";
    let config = parse(base);
    let with = |context: &str, cluster: Option<&str>, user: Option<&str>| {
        config
            .resolve(&Overrides {
                context: Some(context.into()),
                cluster: cluster.map(Into::into),
                user: user.map(Into::into),
                namespace: None,
            })
            .unwrap_err()
    };
    assert_eq!(
        config.resolve(&Overrides::default()).unwrap_err(),
        ResolveError::NoCurrentContext
    );
    assert_eq!(
        with("missing", None, None),
        ResolveError::ContextNotFound {
            name: "missing".into()
        }
    );
    assert_eq!(
        with("nocluster", None, None),
        ResolveError::ContextHasNoCluster {
            context: "nocluster".into()
        }
    );
    assert_eq!(
        with("ok", Some("gone"), None),
        ResolveError::ClusterNotFound { name: "gone".into() }
    );
    assert_eq!(
        with("ok", None, Some("gone")),
        ResolveError::UserNotFound { name: "gone".into() }
    );
    assert_eq!(
        with("ok", Some("noserver"), None),
        ResolveError::MissingServer {
            cluster: "noserver".into(),
            origin: Some("/home/me/.kube/config".into())
        }
    );
    assert_eq!(
        with("ok", Some("badurl"), None),
        ResolveError::InvalidServerUrl {
            cluster: "badurl".into(),
            error: UrlError::InvalidPort
        }
    );
    assert_eq!(
        with("ok", Some("both"), None),
        ResolveError::InsecureWithCertificateAuthority {
            cluster: "both".into()
        }
    );
    let conflict = with("ok", None, Some("two"));
    assert_eq!(
        conflict,
        ResolveError::ConflictingAuth {
            user: "two".into(),
            methods: vec!["token", "basic"]
        }
    );
    assert!(!conflict.to_string().contains("s3cret"));
    assert_eq!(
        with("ok", None, Some("certonly")),
        ResolveError::MissingClientKey {
            user: "certonly".into()
        }
    );
    assert_eq!(
        with("ok", None, Some("keyonly")),
        ResolveError::MissingClientCertificate {
            user: "keyonly".into()
        }
    );
    assert_eq!(
        with("ok", None, Some("groups")),
        ResolveError::ImpersonationWithoutUser {
            user: "groups".into()
        }
    );
    assert_eq!(
        with("ok", None, Some("v1exec")),
        ResolveError::ExecMissingInteractiveMode {
            user: "v1exec".into()
        }
    );
    assert_eq!(
        with("ok", None, Some("noversion")),
        ResolveError::ExecMissingApiVersion {
            user: "noversion".into()
        }
    );
    // Every error renders to a one-line message.
    assert!(
        ResolveError::NoCurrentContext
            .to_string()
            .contains("current-context")
    );
}

#[test]
fn impersonation_and_insecure_are_carried_through() {
    let text = "clusters:\n- {name: c, cluster: {server: 'https://c', insecure-skip-tls-verify: true}}\n\
                users:\n- name: u\n  user:\n    as: jane\n    as-uid: '42'\n    as-groups: [dev, ops]\n    as-user-extra: {scopes: [view]}\n\
                contexts:\n- {name: x, context: {cluster: c, user: u}}\ncurrent-context: x\n";
    let resolved = resolve(text).unwrap();
    assert!(resolved.cluster.insecure_skip_tls_verify);
    let imp = resolved.credentials.impersonation.unwrap();
    assert_eq!(imp.user, "jane");
    assert_eq!(imp.uid.as_deref(), Some("42"));
    assert_eq!(imp.groups, ["dev", "ops"]);
    assert_eq!(imp.extra["scopes"], ["view"]);
}

#[test]
fn server_without_scheme_uses_tls_only_with_tls_settings() {
    let text = |extra: &str| {
        format!(
            "clusters:\n- {{name: c, cluster: {{server: 'localhost:8080'{extra}}}}}\n\
             contexts:\n- {{name: x, context: {{cluster: c}}}}\ncurrent-context: x\n"
        )
    };
    assert_eq!(resolve(&text("")).unwrap().cluster.server.scheme, Scheme::Http);
    let tls = resolve(&text(", certificate-authority-data: Q0E=")).unwrap();
    assert_eq!(tls.cluster.server.scheme, Scheme::Https);
}

#[test]
fn debug_of_resolved_config_shows_no_secrets() {
    let text = "clusters:\n- {name: c, cluster: {server: 'https://c'}}\n\
                users:\n- {name: tok, user: {token: TOKEN-s3cret}}\n\
                - {name: basic, user: {username: bob, password: PASS-s3cret}}\n\
                - {name: key, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZLXMzY3JldA==}}\n\
                - {name: provider, user: {auth-provider: {name: oidc, config: {id-token: OIDC-s3cret}}}}\n\
                - {name: exec, user: {exec: {command: x, apiVersion: v1beta1, env: [{name: K, value: ENV-s3cret}]}}}\n\
                contexts:\n- {name: x, context: {cluster: c}}\ncurrent-context: x\n";
    let config = parse(text);
    assert!(!format!("{config:?}").contains("s3cret"), "{config:?}");
    for user in ["tok", "basic", "key", "provider", "exec"] {
        let resolved = config
            .resolve(&Overrides {
                user: Some(user.into()),
                ..Overrides::default()
            })
            .unwrap();
        let debug = format!("{resolved:?} {resolved:#?}");
        assert!(!debug.contains("s3cret"), "{user}: {debug}");
        assert!(debug.contains("<redacted>"), "{user}: {debug}");
    }
}

#[test]
fn malformed_files_give_clear_errors_naming_file_and_field() {
    let cases: &[(&[u8], &str)] = &[
        (b"clusters: [\n  - name: x\n", "invalid YAML"),
        (b"{\"clusters\": [}", "invalid JSON"),
        (
            b"- just\n- a list\n",
            "the document: expected a mapping, found a list",
        ),
        (
            b"clusters: {name: x}\n",
            "clusters: expected a list, found a mapping",
        ),
        (
            b"clusters:\n- cluster: {server: x}\n",
            "clusters[0].name is missing or empty",
        ),
        (
            b"clusters:\n- 42\n",
            "clusters[0]: expected a mapping, found a number",
        ),
        (
            b"clusters:\n- {name: c, cluster: {server: 8080}}\n",
            "clusters[\"c\"].cluster.server: expected a string, found a number",
        ),
        (
            b"clusters:\n- {name: c, cluster: {insecure-skip-tls-verify: 'maybe'}}\n",
            "clusters[\"c\"].cluster.insecure-skip-tls-verify: expected a boolean, found a string",
        ),
        (
            b"users:\n- {name: u, user: {client-key-data: 'not*base64'}}\n",
            "users[\"u\"].user.client-key-data is not valid base64",
        ),
        (
            b"users:\n- {name: u, user: {as-groups: [a, {b: c}]}}\n",
            "users[\"u\"].user.as-groups[1]: expected a string",
        ),
        (
            b"users:\n- {name: u, user: {exec: {args: [x]}}}\n",
            "users[\"u\"].user.exec.command is missing",
        ),
        (
            b"users:\n- {name: u, user: {exec: {command: x, interactiveMode: Sometimes}}}\n",
            "users[\"u\"].user.exec.interactiveMode: expected one of Never, IfAvailable, Always",
        ),
        (
            b"users:\n- {name: u, user: {exec: {command: x, env: [{value: v}]}}}\n",
            "env[0].name is missing",
        ),
        (b"apiVersion: v2\n", "apiVersion \"v2\" is not supported"),
        (b"kind: Pod\n", "kind \"Pod\" is not a kubeconfig"),
        (
            b"current-context: [a]\n",
            "current-context: expected a string, found a list",
        ),
        (b"a: 1\na: 2\n", "duplicate mapping key"),
        // UTF-16 (a byte-order mark says so) of an odd length, then of CJK characters.
        (b"\xff\xfe\x00garbag", "invalid YAML"),
        (
            b"\xff\xfe\x00garbage",
            "the document: expected a mapping, found a string",
        ),
    ];
    for (input, expected) in cases {
        let err = parse_err(input);
        let message = err.to_string();
        assert!(message.starts_with("kubeconfig /cfg/bad.yaml: "), "{message}");
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
    }
}

#[test]
fn errors_never_quote_secret_values() {
    let cases: &[&[u8]] = &[
        b"users:\n- {name: u, user: {token: [s3cret]}}\n",
        b"users:\n- {name: u, user: {client-key-data: s3cret!!}}\n",
        b"users:\n- {name: u, user: {password: {s3cret: 1}}}\n",
        b"users:\n- {name: u, user: {token: \"s3cret\\q\"}}\n",
        b"users:\n- {name: u, user: {token: s3cret}\n",
        b"{\"users\": [{\"name\": \"u\", \"user\": {\"token\": \"s3cret\"}}, s3cret]}",
        b"clusters:\n- {name: c, cluster: {disable-compression: s3cret}}\n",
    ];
    for input in cases {
        let err = parse_err(input);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}

#[test]
fn size_limit_has_its_own_error() {
    let big = vec![b'#'; MAX_KUBECONFIG_LEN + 1];
    let err = parse_err(&big);
    assert_eq!(
        err.kind,
        ParseErrorKind::TooLarge {
            len: MAX_KUBECONFIG_LEN + 1,
            max: MAX_KUBECONFIG_LEN
        }
    );
}

#[test]
fn hostile_yaml_is_rejected_without_panicking() {
    // Deep nesting and an alias bomb stop at the parser's budget.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Kubeconfig::from_bytes(deep.as_bytes(), None).is_err());
    let deep_json = format!("{{\"x\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Kubeconfig::from_bytes(deep_json.as_bytes(), None).is_err());
    let bomb = crate::yaml::tests::alias_bomb();
    assert!(Kubeconfig::from_bytes(bomb.as_bytes(), None).is_err());
    // Truncations of a real file never panic.
    for len in 0..KIND.len() {
        let _ =
            Kubeconfig::from_bytes(&KIND.as_bytes()[..len], None).map(|c| c.resolve(&Overrides::default()));
    }
}

#[test]
fn empty_and_comment_only_files_are_empty_configs() {
    for input in [&b""[..], b"   \n", b"# nothing here\n", b"---\n", b"{}"] {
        assert_eq!(
            Kubeconfig::from_bytes(input, None).unwrap(),
            Kubeconfig::default()
        );
    }
}

#[test]
fn in_cluster_config_from_env_and_files() {
    let inputs = InClusterInputs {
        service_host: Some("10.96.0.1"),
        service_port: Some("443"),
        token: Some(b"tok-s3cret\n"),
        ca_crt: Some(b"CA"),
        namespace: None,
    };
    let config = in_cluster_config(&inputs).unwrap();
    assert_eq!(config.cluster.server.to_string(), "https://10.96.0.1");
    assert_eq!(
        config.cluster.certificate_authority,
        Some(Source::Inline(b"CA".to_vec()))
    );
    assert_eq!(config.namespace, "default");
    assert_eq!(
        config.credentials.auth,
        Auth::TokenFile {
            path: Path::new("/var/run/secrets/kubernetes.io/serviceaccount/token").into(),
            initial: Some(SecretString::new("tok-s3cret")),
        }
    );
    assert!(!format!("{config:?}").contains("s3cret"));
    assert_eq!(TOKEN_FILE_REFRESH_INTERVAL.as_secs(), 60);

    let v6 = in_cluster_config(&InClusterInputs {
        service_host: Some("fd00:10:96::1"),
        service_port: Some("6443"),
        namespace: Some(b" team-a \n"),
        ..inputs
    })
    .unwrap();
    assert_eq!(v6.cluster.server.host, Host::Ip("fd00:10:96::1".parse().unwrap()));
    assert_eq!(v6.cluster.server.port, 6443);
    assert_eq!(v6.namespace, "team-a");
}

#[test]
fn in_cluster_errors() {
    let ok = InClusterInputs {
        service_host: Some("10.0.0.1"),
        service_port: Some("443"),
        token: Some(b"t"),
        ca_crt: None,
        namespace: None,
    };
    let err = |inputs: InClusterInputs<'_>| in_cluster_config(&inputs).unwrap_err();
    assert_eq!(
        err(InClusterInputs {
            service_host: Some(""),
            ..ok
        }),
        InClusterError::NotInCluster {
            missing: "KUBERNETES_SERVICE_HOST"
        }
    );
    assert_eq!(
        err(InClusterInputs {
            service_port: None,
            ..ok
        }),
        InClusterError::NotInCluster {
            missing: "KUBERNETES_SERVICE_PORT"
        }
    );
    assert_eq!(
        err(InClusterInputs {
            service_port: Some("http"),
            ..ok
        }),
        InClusterError::InvalidServiceAddress(UrlError::InvalidPort)
    );
    assert_eq!(
        err(InClusterInputs {
            service_host: Some("a/b"),
            ..ok
        }),
        InClusterError::InvalidServiceAddress(UrlError::InvalidHost)
    );
    assert_eq!(
        err(InClusterInputs { token: None, ..ok }),
        InClusterError::MissingToken
    );
    assert_eq!(
        err(InClusterInputs {
            token: Some(b"\n"),
            ..ok
        }),
        InClusterError::InvalidToken(TokenFileError::Empty)
    );
    assert!(
        in_cluster_config(&ok)
            .unwrap()
            .cluster
            .certificate_authority
            .is_none()
    );
}
