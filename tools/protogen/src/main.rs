//! `klient-protogen`: writes `klient-proto/src/protobuf/generated/` from the upstream `.proto`
//! files and Go types of every Kubernetes version k8s-openapi supports, mapped onto k8s-openapi's
//! Rust types for the same version.
//!
//! Run it through `tools/protogen/regen.sh` (`./dev protogen`), which downloads the pinned Go
//! modules and finds the k8s-openapi sources. Each message's impl is generated per version; an impl
//! that is the same in every version is written once, others carry a `#[cfg(klient_k8s = "1.NN")]`
//! set (klient-proto's build script sets `klient_k8s` from the version selected on k8s-openapi).

mod emit;
mod gostruct;
mod openapi;
mod proto;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

struct VersionInput {
    /// `1.36`
    version: String,
    /// Go module directories: k8s.io/api, apimachinery, apiextensions-apiserver, kube-aggregator.
    module_dirs: Vec<PathBuf>,
}

fn main() {
    if let Err(error) = run() {
        eprintln!("klient-protogen: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut openapi_root = None;
    let mut out_dir = None;
    let mut versions = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--k8s-openapi" => openapi_root = Some(PathBuf::from(value()?)),
            "--out" => out_dir = Some(PathBuf::from(value()?)),
            "--version" => {
                let spec = value()?;
                let (version, dirs) = spec.split_once('=').ok_or("--version takes 1.NN=dir,dir,...")?;
                versions.push(VersionInput {
                    version: version.to_owned(),
                    module_dirs: dirs.split(',').map(PathBuf::from).collect(),
                });
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let openapi_root = openapi_root.ok_or("--k8s-openapi is required")?;
    let out_dir = out_dir.ok_or("--out is required")?;
    if versions.is_empty() {
        return Err("at least one --version is required".into());
    }

    // package file name → message name → impl text → versions with that text.
    let mut generated: BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<String>>>> = BTreeMap::new();
    let mut report = String::new();
    // resource type path → versions where it has a generated codec.
    let mut resources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut fatal = Vec::new();
    for input in &versions {
        let minor = input
            .version
            .strip_prefix("1.")
            .ok_or("versions look like 1.NN")?;
        let rust = openapi::read_version(&openapi_root.join("src").join(format!("v1_{minor}")))?;
        let (messages, go_packages, message_package) = read_modules(&input.module_dirs)?;
        let wrapper_messages: BTreeSet<String> = messages
            .iter()
            .filter(|(name, message)| {
                let short = name.rsplit('.').next().unwrap_or("");
                let package = &go_packages[&message_package[name.as_str()]];
                package.named_slices.contains(short)
                    && message.fields.len() == 1
                    && message.fields.get(&1).is_some_and(|field| field.name == "items")
            })
            .map(|(name, _)| name.clone())
            .collect();
        let mut findings = emit::Findings::default();
        let mut without_type = Vec::new();
        let mut count = 0;
        let empty_struct = BTreeMap::new();
        for name in messages.keys() {
            if emit::HAND_WRITTEN.contains(&name.as_str()) || wrapper_messages.contains(name) {
                continue;
            }
            let Some(rust_struct) = rust.get(name) else {
                without_type.push(name.clone());
                continue;
            };
            let lookup = |message: &str| {
                let proto = messages.get(message)?;
                let package = go_packages.get(message_package.get(message)?)?;
                let short = message.rsplit('.').next().unwrap_or("");
                // `type MatchCondition v1.MatchCondition`: the struct lives in another package; take
                // the same-named struct whose protobuf field numbers are the message's.
                let go = package.structs.get(short).or_else(|| {
                    go_packages
                        .values()
                        .filter_map(|other| other.structs.get(short))
                        .find(|fields| fields.keys().eq(proto.fields.keys()))
                });
                Some((proto, go.unwrap_or(&empty_struct), &package.named_slices))
            };
            let text = emit::emit_message(
                &emit::MessageInput {
                    name,
                    rust: rust_struct,
                    wrapper_messages: &wrapper_messages,
                    lookup: &lookup,
                },
                &mut findings,
            );
            count += 1;
            if rust_struct.is_resource {
                resources
                    .entry(rust_struct.path.clone())
                    .or_default()
                    .push(input.version.clone());
            }
            let file = file_name(&message_package[name.as_str()]);
            generated
                .entry(file)
                .or_default()
                .entry(name.clone())
                .or_default()
                .entry(text)
                .or_default()
                .push(input.version.clone());
        }
        let types_without_message: Vec<&String> =
            rust.keys().filter(|name| !messages.contains_key(*name)).collect();
        let _ = writeln!(report, "## Kubernetes {}\n", input.version);
        let _ = writeln!(report, "- {count} messages generated onto k8s-openapi types");
        let _ = writeln!(
            report,
            "- {} wrapper messages (Go named slices, k8s-openapi Vec)",
            wrapper_messages.len()
        );
        list(
            &mut report,
            "messages without a k8s-openapi type (not generated)",
            &without_type,
        );
        list(
            &mut report,
            "k8s-openapi types without a message",
            &types_without_message,
        );
        list(
            &mut report,
            ".proto fields k8s-openapi has no field for (JSON drops them too)",
            &findings.proto_only,
        );
        list(
            &mut report,
            "k8s-openapi fields the .proto does not have",
            &findings.json_only,
        );
        fatal.extend(
            findings
                .errors
                .into_iter()
                .map(|error| format!("{}: {error}", input.version)),
        );
    }
    if !fatal.is_empty() {
        return Err(format!("fields that cannot be mapped:\n{}", fatal.join("\n")));
    }

    let all_versions: Vec<String> = versions.iter().map(|input| input.version.clone()).collect();
    std::fs::create_dir_all(&out_dir).map_err(|error| format!("{}: {error}", out_dir.display()))?;
    let mut module_list = String::new();
    for (file, messages) in &generated {
        let mut code = String::from(HEADER);
        code.push_str(
            "\nuse std::collections::BTreeMap;\n\nuse crate::protobuf::*;\nuse crate::{impl_empty_message_value, impl_message_value};\n",
        );
        for texts in messages.values() {
            for (text, text_versions) in texts {
                code.push('\n');
                if text_versions.len() != all_versions.len() {
                    let cfg = cfg_for(text_versions);
                    // One item per version set: the impl and its Value impl go together.
                    let _ = writeln!(code, "#[cfg({cfg})]");
                    let _ = writeln!(code, "const _: () = {{");
                    for line in text.lines() {
                        if line.is_empty() {
                            code.push('\n');
                        } else {
                            let _ = writeln!(code, "    {line}");
                        }
                    }
                    code.push_str("};\n");
                } else {
                    code.push_str(text);
                }
            }
        }
        let path = out_dir.join(format!("{file}.rs"));
        std::fs::write(&path, code).map_err(|error| format!("{}: {error}", path.display()))?;
        let _ = writeln!(module_list, "mod {file};");
    }
    let mut visits = String::new();
    for (path, resource_versions) in &resources {
        if resource_versions.len() != all_versions.len() {
            let _ = writeln!(visits, "    #[cfg({})]", cfg_for(resource_versions));
        }
        let _ = writeln!(visits, "    visitor.visit::<{path}>();");
    }
    let mod_rs = format!(
        "{HEADER}\n//! Protobuf codecs for the k8s-openapi types, one file per protobuf package.\n//! Coverage per Kubernetes version: COVERAGE.md next to this file.\n\n{module_list}\n\
         /// Calls `visitor.visit::<K>()` for every k8s-openapi resource type (a kind) of the selected\n\
         /// Kubernetes version that has a protobuf codec.\n\
         pub fn visit_resources<V: super::ResourceVisitor>(visitor: &mut V) {{\n{visits}}}\n"
    );
    write(&out_dir.join("mod.rs"), &mod_rs)?;
    write(
        &out_dir.join("COVERAGE.md"),
        &format!("# Generated protobuf coverage\n\n{report}"),
    )?;
    Ok(())
}

const HEADER: &str = "// @generated by tools/protogen (./dev protogen) from the upstream .proto files, Go types and\n// k8s-openapi sources. Do not edit.\n#![allow(clippy::all, missing_docs, unused_imports)]\n";

/// The `cfg` predicate selecting the given Kubernetes versions.
fn cfg_for(versions: &[String]) -> String {
    let each: Vec<String> = versions
        .iter()
        .map(|version| format!("klient_k8s = \"{version}\""))
        .collect();
    if each.len() == 1 {
        each[0].clone()
    } else {
        format!("any({})", each.join(", "))
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|error| format!("{}: {error}", path.display()))
}

fn list(report: &mut String, title: &str, items: &[impl AsRef<str>]) {
    let _ = writeln!(report, "- {title}: {}", items.len());
    for item in items {
        let _ = writeln!(report, "  - `{}`", item.as_ref());
    }
}

/// `k8s.io.api.core.v1` → `api_core_v1`.
fn file_name(package: &str) -> String {
    package.trim_start_matches("k8s.io.").replace('.', "_")
}

type Modules = (
    BTreeMap<String, proto::ProtoMessage>,
    BTreeMap<String, gostruct::GoPackage>,
    BTreeMap<String, String>,
);

/// Reads every `generated.proto` under the module directories, and the Go package beside each.
fn read_modules(dirs: &[PathBuf]) -> Result<Modules, String> {
    let mut messages = BTreeMap::new();
    let mut packages = BTreeMap::new();
    let mut message_package = BTreeMap::new();
    let mut files = Vec::new();
    for dir in dirs {
        find_protos(dir, &mut files)?;
    }
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|error| format!("{}: {error}", file.display()))?;
        let (package, file_messages) =
            proto::parse(&text).map_err(|error| format!("{}: {error}", file.display()))?;
        let go = gostruct::read_package(file.parent().unwrap_or(Path::new(".")))?;
        for name in file_messages.keys() {
            message_package.insert(name.clone(), package.clone());
        }
        messages.extend(file_messages);
        packages.insert(package, go);
    }
    Ok((messages, packages, message_package))
}

fn find_protos(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| format!("{}: {error}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
        if path.is_dir() {
            // Test data and vendored trees hold no API types.
            if name != "testdata" && name != "vendor" {
                find_protos(&path, files)?;
            }
        } else if name == "generated.proto" {
            files.push(path);
        }
    }
    Ok(())
}
