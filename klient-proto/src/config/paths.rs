//! Which kubeconfig files to read, computed from environment values the adapter hands in.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The environment variable listing kubeconfig files.
pub const KUBECONFIG_ENV: &str = "KUBECONFIG";

/// The default kubeconfig, relative to the home folder.
pub const DEFAULT_KUBECONFIG_RELATIVE_PATH: &str = ".kube/config";

/// Splits a `KUBECONFIG` value into paths, in order: `:`-separated on Unix, `;` on Windows.
/// Empty entries are skipped, and a path listed twice is kept only where it first appears.
///
/// ```
/// use klient_proto::config::split_kubeconfig_env;
/// # #[cfg(unix)] {
/// let paths = split_kubeconfig_env("/a/config::/b/config:/a/config".as_ref());
/// assert_eq!(paths, vec![std::path::PathBuf::from("/a/config"), "/b/config".into()]);
/// # }
/// ```
pub fn split_kubeconfig_env(value: &OsStr) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = Vec::new();
    // split_paths only splits a string: it reads nothing from the environment.
    for path in std::env::split_paths(value) {
        if !path.as_os_str().is_empty() && !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}

/// `$HOME/.kube/config`.
pub fn default_kubeconfig_path(home: &Path) -> PathBuf {
    home.join(DEFAULT_KUBECONFIG_RELATIVE_PATH)
}

/// The kubeconfig files to read, in precedence order, as kubectl chooses them: the files of a
/// non-empty `KUBECONFIG`, otherwise `$HOME/.kube/config` when the home folder is known.
///
/// Pass `std::env::var_os("KUBECONFIG")` and the home folder (`HOME`; `USERPROFILE` on Windows).
/// kubectl skips files of the `KUBECONFIG` list that do not exist, and treats a missing default
/// file as an empty config; the adapter does the same when reading them.
pub fn kubeconfig_paths(kubeconfig_env: Option<&OsStr>, home: Option<&Path>) -> Vec<PathBuf> {
    let listed = kubeconfig_env.map(split_kubeconfig_env).unwrap_or_default();
    if !listed.is_empty() {
        return listed;
    }
    home.filter(|h| !h.as_os_str().is_empty())
        .map(default_kubeconfig_path)
        .into_iter()
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_list_is_split_in_order_without_empties_or_repeats() {
        let paths = split_kubeconfig_env(OsStr::new(":/x/one:/y/two::/x/one:rel/three:"));
        let expected: Vec<PathBuf> = vec!["/x/one".into(), "/y/two".into(), "rel/three".into()];
        assert_eq!(paths, expected);
        assert!(split_kubeconfig_env(OsStr::new("")).is_empty());
        assert!(split_kubeconfig_env(OsStr::new(":::")).is_empty());
    }

    #[test]
    fn kubeconfig_env_takes_precedence_over_home() {
        let home = Path::new("/home/me");
        assert_eq!(
            kubeconfig_paths(Some(OsStr::new("/k/a:/k/b")), Some(home)),
            vec![PathBuf::from("/k/a"), PathBuf::from("/k/b")]
        );
        assert_eq!(
            kubeconfig_paths(None, Some(home)),
            vec![PathBuf::from("/home/me/.kube/config")]
        );
        // An empty KUBECONFIG is as if unset.
        assert_eq!(kubeconfig_paths(Some(OsStr::new(":")), Some(home)).len(), 1);
        assert!(kubeconfig_paths(None, None).is_empty());
        assert!(kubeconfig_paths(None, Some(Path::new(""))).is_empty());
    }
}
