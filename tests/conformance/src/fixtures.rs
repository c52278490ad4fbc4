//! The upstream round-trip fixtures, read from the `k8s.io/api` Go module of the release under test.
//!
//! The module ships them in `testdata/`: `HEAD/` holds one object per group/version/kind written by
//! that release's Go types, as `<group>.<version>.<Kind>.{json,yaml,pb}` (the core group written
//! `core`, every field filled); each `vX.Y.0/` folder holds what an older release wrote, which the
//! newer types must still read. Where the newer Go types write those old bytes back differently, a
//! `<name>.after_roundtrip.<ext>` file beside them holds what they write instead, per format.
//! Nothing is vendored: the Go toolchain fetches the module into its cache, at the version the
//! protobuf codecs were generated from (`tools/protogen/versions.txt`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The three encodings of one kind in one folder, and what the newer types write back instead.
#[derive(Debug, Default)]
pub struct Fixture {
    /// `<group>.<version>.<Kind>`, as upstream names the files.
    pub name: String,
    /// The `.json`, `.yaml` and `.pb` files (absent ones as `None`).
    pub written: Encodings,
    /// The `.after_roundtrip.*` files; a format without one must re-encode to `written`.
    pub after_roundtrip: Encodings,
}

/// Paths of one object's encodings.
#[derive(Debug, Default)]
pub struct Encodings {
    /// Pretty JSON.
    pub json: Option<PathBuf>,
    /// YAML with sorted keys.
    pub yaml: Option<PathBuf>,
    /// `k8s\0` + runtime.Unknown envelope.
    pub pb: Option<PathBuf>,
}

impl Encodings {
    fn slot(&mut self, extension: &str) -> Option<&mut Option<PathBuf>> {
        match extension {
            "json" => Some(&mut self.json),
            "yaml" => Some(&mut self.yaml),
            "pb" => Some(&mut self.pb),
            _ => None,
        }
    }
}

/// One folder of `testdata/`: `HEAD` or an older release such as `v1.35.0`.
#[derive(Debug)]
pub struct Folder {
    /// The folder's name.
    pub name: String,
    /// Its fixtures by name.
    pub fixtures: BTreeMap<String, Fixture>,
}

/// The `testdata/` folder of the `k8s.io/api` module for `release` (`1.MM`): `KLIENT_CONFORMANCE_DIR`
/// if set, else the module in the Go module cache (downloaded by `go mod download` if missing).
pub fn testdata_dir(release: &str) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("KLIENT_CONFORMANCE_DIR") {
        return Ok(dir.into());
    }
    let module = format!("k8s.io/api@{}", module_version(release)?);
    // Outside any Go module, so no go.mod around decides anything about the download.
    let output = Command::new("go")
        .args(["mod", "download", "-json", &module])
        .current_dir(std::env::temp_dir())
        .output()
        .map_err(|error| format!("cannot run `go mod download {module}` (is Go on PATH?): {error}"))?;
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|error| {
        format!(
            "`go mod download -json {module}` gave no JSON ({error}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    if let Some(error) = answer.get("Error").and_then(|e| e.as_str()) {
        return Err(format!("`go mod download {module}` failed: {error}"));
    }
    let dir = answer
        .get("Dir")
        .and_then(|d| d.as_str())
        .ok_or_else(|| format!("`go mod download -json {module}` named no Dir: {answer}"))?;
    Ok(Path::new(dir).join("testdata"))
}

/// The `k8s.io/api` version for `release`, from the list the protobuf codecs were generated from.
fn module_version(release: &str) -> Result<String, String> {
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/protogen/versions.txt");
    let text = std::fs::read_to_string(&list).map_err(|error| format!("{}: {error}", list.display()))?;
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| match line.split_whitespace().collect::<Vec<_>>()[..] {
            [minor, version] if minor == release => Some(version.to_owned()),
            _ => None,
        })
        .ok_or_else(|| format!("{} has no line for Kubernetes {release}", list.display()))
}

/// Every folder under `testdata`, `HEAD` first, then the older releases oldest first.
pub fn folders(testdata: &Path) -> Result<Vec<Folder>, String> {
    let entries = std::fs::read_dir(testdata).map_err(|error| format!("{}: {error}", testdata.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    if !names.iter().any(|name| name == "HEAD") {
        return Err(format!("{} has no HEAD folder", testdata.display()));
    }
    names.sort_by_key(|name| (name != "HEAD", release_order(name)));
    names
        .into_iter()
        .map(|name| {
            let fixtures = read_folder(&testdata.join(&name))?;
            Ok(Folder { name, fixtures })
        })
        .collect()
}

/// `v1.35.0` → (1, 35, 0), so that v1.9 sorts before v1.10.
fn release_order(name: &str) -> Vec<u32> {
    name.trim_start_matches('v')
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect()
}

fn read_folder(dir: &Path) -> Result<BTreeMap<String, Fixture>, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut fixtures: BTreeMap<String, Fixture> = BTreeMap::new();
    for entry in entries.filter_map(Result::ok) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((stem, extension)) = file.rsplit_once('.') else {
            return Err(format!("{}: a file without an extension: {file}", dir.display()));
        };
        let (name, after) = match stem.strip_suffix(".after_roundtrip") {
            Some(name) => (name, true),
            None => (stem, false),
        };
        let fixture = fixtures.entry(name.to_owned()).or_insert_with(|| Fixture {
            name: name.to_owned(),
            ..Fixture::default()
        });
        let encodings = if after {
            &mut fixture.after_roundtrip
        } else {
            &mut fixture.written
        };
        let slot = encodings
            .slot(extension)
            .ok_or_else(|| format!("{}: unknown fixture format {file}", dir.display()))?;
        *slot = Some(entry.path());
    }
    Ok(fixtures)
}
