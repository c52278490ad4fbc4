//! Loading one kubeconfig file and merging several, with kubectl's precedence: for every name and
//! every top-level setting, the first file that defines it wins.

use std::path::PathBuf;

use super::error::ParseError;
use super::kubeconfig::Kubeconfig;
use super::parse::{MAX_KUBECONFIG_LEN, kubeconfig_from_value, parse_document};

impl Kubeconfig {
    /// Parses one kubeconfig file, YAML or JSON.
    ///
    /// `origin` is the file's path. Relative paths in the file (`certificate-authority`,
    /// `client-certificate`, `client-key`, `tokenFile`, and an exec `command` containing `/`) are
    /// joined to its folder, and errors name it. An empty file is an empty config. Unknown fields
    /// are ignored.
    ///
    /// ```
    /// use klient_proto::config::Kubeconfig;
    /// let yaml = b"
    /// clusters:
    /// - name: dev
    ///   cluster: {server: https://10.0.0.1:6443, certificate-authority: ca.crt}
    /// contexts:
    /// - name: dev
    ///   context: {cluster: dev}
    /// current-context: dev
    /// ";
    /// let config = Kubeconfig::from_bytes(yaml, Some("/home/me/.kube/config".into())).unwrap();
    /// let ca = config.cluster("dev").unwrap().cluster.certificate_authority.as_deref();
    /// assert_eq!(ca, Some(std::path::Path::new("/home/me/.kube/ca.crt")));
    /// ```
    pub fn from_bytes(bytes: &[u8], origin: Option<PathBuf>) -> Result<Self, ParseError> {
        let fail = |kind| ParseError {
            origin: origin.clone(),
            kind,
        };
        let doc = parse_document(bytes, MAX_KUBECONFIG_LEN).map_err(fail)?;
        kubeconfig_from_value(&doc, origin.as_deref()).map_err(fail)
    }

    /// Merges `later` into `self`, `self` taking precedence, as kubectl merges the files of
    /// `KUBECONFIG` in order.
    ///
    /// A cluster, user or context whose name `self` already has is dropped whole: entries are
    /// never merged field by field. `current-context` and `preferences` are taken from `later`
    /// only when `self` has none.
    pub fn merge(mut self, later: Kubeconfig) -> Kubeconfig {
        for cluster in later.clusters {
            if self.cluster(&cluster.name).is_none() {
                self.clusters.push(cluster);
            }
        }
        for user in later.auth_infos {
            if self.auth_info(&user.name).is_none() {
                self.auth_infos.push(user);
            }
        }
        for context in later.contexts {
            if self.context(&context.name).is_none() {
                self.contexts.push(context);
            }
        }
        for extension in later.extensions {
            if !self.extensions.iter().any(|e| e.name == extension.name) {
                self.extensions.push(extension);
            }
        }
        if self.current_context.is_none() {
            self.current_context = later.current_context;
        }
        if self.preferences.is_none() {
            self.preferences = later.preferences;
        }
        self
    }

    /// Parses and merges files given as (path, contents), first to last: the files of
    /// [`kubeconfig_paths`](super::kubeconfig_paths) that the adapter managed to read.
    ///
    /// ```
    /// use klient_proto::config::Kubeconfig;
    /// let files = [
    ///     ("/a/config".into(), &b"current-context: from-a"[..]),
    ///     ("/b/config".into(), &b"current-context: from-b"[..]),
    /// ];
    /// let merged = Kubeconfig::from_files(files).unwrap();
    /// assert_eq!(merged.current_context.as_deref(), Some("from-a"));
    /// ```
    pub fn from_files<B: AsRef<[u8]>>(
        files: impl IntoIterator<Item = (PathBuf, B)>,
    ) -> Result<Kubeconfig, ParseError> {
        let mut merged = Kubeconfig::default();
        for (path, bytes) in files {
            merged = merged.merge(Kubeconfig::from_bytes(bytes.as_ref(), Some(path))?);
        }
        Ok(merged)
    }

    /// Merges files given first to last (the order of `KUBECONFIG`); see [`merge`](Self::merge).
    pub fn merge_all(configs: impl IntoIterator<Item = Kubeconfig>) -> Kubeconfig {
        configs.into_iter().fold(Kubeconfig::default(), Kubeconfig::merge)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn load(yaml: &str, path: &str) -> Kubeconfig {
        Kubeconfig::from_bytes(yaml.as_bytes(), Some(path.into())).unwrap()
    }

    #[test]
    fn first_file_wins_per_name_without_field_merging() {
        let a = load(
            "clusters:\n- name: shared\n  cluster: {server: https://a}\n\
             users:\n- name: me\n  user: {token: ta}\n",
            "/a/config",
        );
        let b = load(
            "clusters:\n- name: shared\n  cluster: {server: https://b, tls-server-name: b.example}\n\
             - name: only-b\n  cluster: {server: https://ob}\n\
             users:\n- name: me\n  user: {username: u, password: p}\n",
            "/b/config",
        );
        let merged = Kubeconfig::merge_all([a, b]);
        let shared = &merged.cluster("shared").unwrap().cluster;
        assert_eq!(shared.server.as_deref(), Some("https://a"));
        // b's tls-server-name must not leak into a's entry of the same name.
        assert_eq!(shared.tls_server_name, None);
        assert_eq!(
            merged.cluster("only-b").unwrap().origin.as_deref(),
            Some(Path::new("/b/config"))
        );
        let me = &merged.auth_info("me").unwrap().auth_info;
        assert_eq!(me.token.as_ref().map(|t| t.expose()), Some("ta"));
        assert_eq!(me.username, None);
        assert_eq!(merged.clusters.len(), 2);
    }

    #[test]
    fn current_context_and_preferences_come_from_the_first_setter() {
        let a = load("clusters: []\n", "/a/config");
        let b = load(
            "current-context: from-b\npreferences: {colors: true}\n",
            "/b/config",
        );
        let c = load(
            "current-context: from-c\npreferences: {colors: false}\n",
            "/c/config",
        );
        let merged = Kubeconfig::merge_all([a, b, c]);
        assert_eq!(merged.current_context.as_deref(), Some("from-b"));
        assert_eq!(merged.preferences.unwrap().colors, Some(true));
    }

    #[test]
    fn relative_paths_resolve_against_each_files_own_folder() {
        let a = load(
            "clusters:\n- name: a\n  cluster: {server: https://a, certificate-authority: certs/ca.pem}\n\
             users:\n- name: a\n  user:\n    client-certificate: a.crt\n    client-key: ../keys/a.key\n    tokenFile: /abs/token\n",
            "/etc/kube/a.yaml",
        );
        let b = load(
            "users:\n- name: b\n  user:\n    tokenFile: tok\n    exec: {command: ./bin/plugin, apiVersion: client.authentication.k8s.io/v1}\n\
             - name: c\n  user:\n    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}\n",
            "/home/me/b.yaml",
        );
        let merged = Kubeconfig::merge_all([a, b]);
        let ca = merged.cluster("a").unwrap().cluster.certificate_authority.clone();
        assert_eq!(ca, Some(PathBuf::from("/etc/kube/certs/ca.pem")));
        let ua = &merged.auth_info("a").unwrap().auth_info;
        assert_eq!(ua.client_certificate, Some(PathBuf::from("/etc/kube/a.crt")));
        assert_eq!(ua.client_key, Some(PathBuf::from("/etc/kube/../keys/a.key")));
        assert_eq!(ua.token_file, Some(PathBuf::from("/abs/token")));
        let ub = &merged.auth_info("b").unwrap().auth_info;
        assert_eq!(ub.token_file, Some(PathBuf::from("/home/me/tok")));
        assert_eq!(ub.exec.as_ref().unwrap().command, "/home/me/./bin/plugin");
        // A bare command name is looked up on PATH, not next to the file.
        assert_eq!(
            merged
                .auth_info("c")
                .unwrap()
                .auth_info
                .exec
                .as_ref()
                .unwrap()
                .command,
            "aws"
        );
    }

    #[test]
    fn without_origin_paths_stay_as_written() {
        let config = Kubeconfig::from_bytes(
            b"clusters:\n- name: a\n  cluster: {server: https://a, certificate-authority: ca.pem}\n",
            None,
        )
        .unwrap();
        assert_eq!(
            config.clusters[0].cluster.certificate_authority,
            Some(PathBuf::from("ca.pem"))
        );
    }

    #[test]
    fn from_files_stops_at_the_first_bad_file_and_names_it() {
        let files = [
            ("/ok".into(), &b"current-context: a"[..]),
            ("/bad".into(), b"clusters: 3"),
        ];
        let err = Kubeconfig::from_files(files).unwrap_err();
        assert_eq!(err.origin.as_deref(), Some(Path::new("/bad")));
    }

    #[test]
    fn merging_with_an_empty_file_changes_nothing() {
        let a = load(
            "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n",
            "/a",
        );
        let empty = Kubeconfig::from_bytes(b"", Some("/empty".into())).unwrap();
        assert_eq!(empty, Kubeconfig::default());
        assert_eq!(Kubeconfig::merge_all([empty.clone(), a.clone(), empty]), a);
    }
}
