//! From the bytes of one kubeconfig file (YAML or JSON) to a [`Kubeconfig`].

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::ParseErrorKind;
use super::fields::{Object, expect_string};
use super::kubeconfig::{
    AuthInfo, AuthProviderConfig, Cluster, Context, ExecConfig, ExecEnvVar, InteractiveMode, Kubeconfig,
    NamedAuthInfo, NamedCluster, NamedContext, NamedExtension, Preferences,
};
use super::secret::{SecretBytes, SecretString};
use crate::yaml::YamlLimits;

/// The largest kubeconfig file klient parses: far above real files (a few KiB per cluster), low
/// enough that a stray multi-gigabyte file fails fast instead of exhausting memory.
pub const MAX_KUBECONFIG_LEN: usize = 16 * 1024 * 1024;

/// Parses a YAML or JSON document into an untyped tree, with a size limit. A document that is
/// empty or only comments is `null`.
pub(crate) fn parse_document(bytes: &[u8], max_len: usize) -> Result<Value, ParseErrorKind> {
    if bytes.len() > max_len {
        return Err(ParseErrorKind::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // JSON is nearly a subset of YAML, but serde_json is faster and its errors are clearer.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return serde_json::from_slice(body).map_err(|e| ParseErrorKind::Syntax {
            format: "JSON",
            line: e.line(),
            column: e.column(),
            message: json_error_message(&e),
        });
    }
    // Kubeconfigs hardly ever use aliases, and even a thousand clusters stay far below these
    // limits, which stop an alias bomb or deep nesting at once.
    crate::yaml::read_document(body, &YamlLimits::default()).map_err(|e| {
        let (line, column) = e.position().unwrap_or((0, 0));
        ParseErrorKind::Syntax {
            format: "YAML",
            line,
            column,
            message: e.reason(),
        }
    })
}

/// serde_json's syntax messages never quote input, but its `Display` appends the position, which
/// the caller reports on its own.
fn json_error_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Turns a parsed document into a [`Kubeconfig`], joining relative paths to `base_dir`.
pub(crate) fn kubeconfig_from_value(
    doc: &Value,
    origin: Option<&Path>,
) -> Result<Kubeconfig, ParseErrorKind> {
    let Some(root) = Object::new(doc, String::new())? else {
        return Ok(Kubeconfig::default());
    };
    if let Some(version) = root.string("apiVersion")?
        && version != "v1"
    {
        return Err(ParseErrorKind::UnsupportedApiVersion {
            api_version: truncate(version),
        });
    }
    if let Some(kind) = root.string("kind")?
        && kind != "Config"
    {
        return Err(ParseErrorKind::WrongKind { kind: truncate(kind) });
    }
    let base_dir = origin.and_then(Path::parent);
    let paths = PathJoiner { base_dir };
    let origin = origin.map(Path::to_path_buf);

    let mut config = Kubeconfig {
        current_context: root.string("current-context")?,
        preferences: root.object("preferences")?.map(|p| preferences(&p)).transpose()?,
        extensions: extensions(&root, "extensions")?,
        ..Kubeconfig::default()
    };
    for (path, item) in root.list("clusters")? {
        let (name, entry) = named_entry(item, path, "cluster")?;
        let cluster = entry
            .map(|c| cluster(&c, &paths))
            .transpose()?
            .unwrap_or_default();
        config.clusters.push(NamedCluster {
            name,
            cluster,
            origin: origin.clone(),
        });
    }
    for (path, item) in root.list("users")? {
        let (name, entry) = named_entry(item, path, "user")?;
        let auth_info = entry
            .map(|u| auth_info(&u, &paths))
            .transpose()?
            .unwrap_or_default();
        config.auth_infos.push(NamedAuthInfo {
            name,
            auth_info,
            origin: origin.clone(),
        });
    }
    for (path, item) in root.list("contexts")? {
        let (name, entry) = named_entry(item, path, "context")?;
        let context = entry.map(|c| context(&c)).transpose()?.unwrap_or_default();
        config.contexts.push(NamedContext {
            name,
            context,
            origin: origin.clone(),
        });
    }
    Ok(config)
}

/// Reads `{name: ..., <inner>: {...}}`; later paths use the name, which reads better than an index.
fn named_entry<'a>(
    item: &'a Value,
    path: String,
    inner: &str,
) -> Result<(String, Option<Object<'a>>), ParseErrorKind> {
    let Some(entry) = Object::new(item, path.clone())? else {
        return Err(ParseErrorKind::MissingField {
            field: format!("{path}.name"),
        });
    };
    let name = entry.required_string("name")?;
    let named_path = format!(
        "{}[{name:?}]",
        path.rsplit_once('[').map_or(path.as_str(), |(list, _)| list)
    );
    let inner = match entry.get(inner) {
        None => None,
        Some(value) => Object::new(value, format!("{named_path}.{inner}"))?,
    };
    Ok((name, inner))
}

/// Joins relative paths to the folder of the file they were written in, as kubectl does, so that
/// a merged config still finds each file's neighbours.
struct PathJoiner<'a> {
    base_dir: Option<&'a Path>,
}

impl PathJoiner<'_> {
    fn join(&self, path: String) -> PathBuf {
        let path = PathBuf::from(path);
        match self.base_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        }
    }

    /// A bare command name is looked up on `PATH`; only one with a slash is a relative path.
    fn join_command(&self, command: String) -> String {
        if command.contains('/') && Path::new(&command).is_relative() {
            self.join(command).to_string_lossy().into_owned()
        } else {
            command
        }
    }
}

fn cluster(c: &Object<'_>, paths: &PathJoiner<'_>) -> Result<Cluster, ParseErrorKind> {
    Ok(Cluster {
        server: c.string("server")?,
        tls_server_name: c.string("tls-server-name")?,
        insecure_skip_tls_verify: c.bool("insecure-skip-tls-verify")?.unwrap_or(false),
        certificate_authority: c.string("certificate-authority")?.map(|p| paths.join(p)),
        certificate_authority_data: c.base64("certificate-authority-data")?,
        proxy_url: c.string("proxy-url")?,
        disable_compression: c.bool("disable-compression")?.unwrap_or(false),
        extensions: extensions(c, "extensions")?,
    })
}

fn auth_info(u: &Object<'_>, paths: &PathJoiner<'_>) -> Result<AuthInfo, ParseErrorKind> {
    Ok(AuthInfo {
        client_certificate: u.string("client-certificate")?.map(|p| paths.join(p)),
        client_certificate_data: u.base64("client-certificate-data")?,
        client_key: u.string("client-key")?.map(|p| paths.join(p)),
        client_key_data: u.base64("client-key-data")?.map(SecretBytes::from),
        token: u.string("token")?.map(SecretString::from),
        token_file: u.string("tokenFile")?.map(|p| paths.join(p)),
        impersonate: u.string("as")?,
        impersonate_uid: u.string("as-uid")?,
        impersonate_groups: u.string_list("as-groups")?,
        impersonate_user_extra: u.string_list_map("as-user-extra")?,
        username: u.string("username")?,
        password: u.string("password")?.map(SecretString::from),
        auth_provider: u
            .object("auth-provider")?
            .map(|p| auth_provider(&p))
            .transpose()?,
        exec: u.object("exec")?.map(|e| exec(&e, paths)).transpose()?,
        extensions: extensions(u, "extensions")?,
    })
}

fn auth_provider(p: &Object<'_>) -> Result<AuthProviderConfig, ParseErrorKind> {
    Ok(AuthProviderConfig {
        name: p.required_string("name")?,
        config: p
            .string_map("config")?
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect(),
    })
}

fn exec(e: &Object<'_>, paths: &PathJoiner<'_>) -> Result<ExecConfig, ParseErrorKind> {
    let interactive_mode = match e.string("interactiveMode")?.as_deref() {
        None => None,
        Some("Never") => Some(InteractiveMode::Never),
        Some("IfAvailable") => Some(InteractiveMode::IfAvailable),
        Some("Always") => Some(InteractiveMode::Always),
        Some(_) => {
            return Err(ParseErrorKind::InvalidValue {
                field: e.path_of("interactiveMode"),
                expected: "one of Never, IfAvailable, Always",
            });
        }
    };
    let mut env = Vec::new();
    for (path, item) in e.list("env")? {
        let Some(var) = Object::new(item, path.clone())? else {
            return Err(ParseErrorKind::MissingField {
                field: format!("{path}.name"),
            });
        };
        let value = match var.get("value") {
            None => String::new(),
            Some(v) => expect_string(var.path_of("value"), v)?,
        };
        env.push(ExecEnvVar {
            name: var.required_string("name")?,
            value: SecretString::from(value),
        });
    }
    Ok(ExecConfig {
        command: paths.join_command(e.required_string("command")?),
        args: e.string_list("args")?,
        env,
        api_version: e.string("apiVersion")?,
        install_hint: e.string("installHint")?,
        provide_cluster_info: e.bool("provideClusterInfo")?.unwrap_or(false),
        interactive_mode,
    })
}

fn context(c: &Object<'_>) -> Result<Context, ParseErrorKind> {
    Ok(Context {
        cluster: c.string("cluster")?,
        user: c.string("user")?,
        namespace: c.string("namespace")?,
        extensions: extensions(c, "extensions")?,
    })
}

fn preferences(p: &Object<'_>) -> Result<Preferences, ParseErrorKind> {
    Ok(Preferences {
        colors: p.bool("colors")?,
        extensions: extensions(p, "extensions")?,
    })
}

fn extensions(parent: &Object<'_>, key: &str) -> Result<Vec<NamedExtension>, ParseErrorKind> {
    let mut out = Vec::new();
    for (path, item) in parent.list(key)? {
        let Some(entry) = Object::new(item, path.clone())? else {
            return Err(ParseErrorKind::MissingField {
                field: format!("{path}.name"),
            });
        };
        let extension = entry.get("extension").cloned().unwrap_or(Value::Null);
        out.push(NamedExtension {
            name: entry.required_string("name")?,
            extension,
        });
    }
    Ok(out)
}

/// Bounds a value echoed in an error, so a hostile file cannot make the message huge.
fn truncate(mut text: String) -> String {
    const MAX: usize = 64;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}
