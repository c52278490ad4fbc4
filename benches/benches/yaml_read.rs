//! YAML to a JSON tree, side by side with serde-saphyr (which klient used before, and which kube
//! uses): a generated kubeconfig of realistic shape (certificate data, exec plugins, extensions),
//! with 1, 20 and 200 clusters, users and contexts; and a multi-document manifest. Each reader
//! produces a `serde_json::Value`, the tree klient's kubeconfig reader walks.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use klient_proto::yaml::{YamlLimits, read_document, read_documents};
use serde_json::Value;

/// A kubeconfig as kubectl writes it, with `n` of each entry.
fn kubeconfig(n: usize) -> String {
    let cert = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFWTVJNd0VRWURWUVFERXdwcmRXSmwK".repeat(12);
    let mut text =
        String::from("apiVersion: v1\nkind: Config\npreferences: {}\ncurrent-context: ctx-0\nclusters:\n");
    for i in 0..n {
        text.push_str(&format!(
            "- cluster:\n    certificate-authority-data: {cert}\n    server: https://10.0.{}.{}:6443\n    extensions:\n    - name: client.authentication.k8s.io/exec\n      extension:\n        audience: sts.amazonaws.com\n        region: eu-west-{}\n  name: cluster-{i}\n",
            i / 250,
            i % 250,
            i % 3
        ));
    }
    text.push_str("contexts:\n");
    for i in 0..n {
        text.push_str(&format!("- context:\n    cluster: cluster-{i}\n    namespace: team-{i}\n    user: user-{i}\n  name: ctx-{i}\n"));
    }
    text.push_str("users:\n");
    for i in 0..n {
        if i % 2 == 0 {
            text.push_str(&format!(
                "- name: user-{i}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {cert}\n"
            ));
        } else {
            text.push_str(&format!(
                "- name: user-{i}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      args:\n      - eks\n      - get-token\n      - --cluster-name\n      - cluster-{i}\n      command: aws\n      env:\n      - name: AWS_PROFILE\n        value: prod\n      interactiveMode: IfAvailable\n      provideClusterInfo: false\n"
            ));
        }
    }
    text
}

/// `n` Deployments in one stream, as `kubectl apply -f` reads them.
fn manifests(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  labels: {{app: web, tier: \"frontend\"}}\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n        ports:\n        - containerPort: 80\n        resources:\n          limits: {{cpu: 500m, memory: 128Mi}}\n        args: [\"--port\", \"80\", '--verbose']\n"
            )
        })
        .collect()
}

fn kubeconfigs(c: &mut Criterion) {
    let mut group = c.benchmark_group("yaml_kubeconfig");
    let limits = YamlLimits::default();
    for n in [1usize, 20, 200] {
        let text = kubeconfig(n);
        // Both readers must give the same tree, or the comparison means nothing.
        assert_eq!(
            read_document(text.as_bytes(), &limits).unwrap(),
            serde_saphyr::from_str::<Value>(&text).unwrap()
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("klient", n), &text, |b, text| {
            b.iter(|| read_document(black_box(text.as_bytes()), &limits).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("serde_saphyr", n), &text, |b, text| {
            b.iter(|| serde_saphyr::from_str::<Value>(black_box(text)).unwrap())
        });
    }
    group.finish();
}

fn manifest_stream(c: &mut Criterion) {
    let mut group = c.benchmark_group("yaml_manifests");
    let limits = YamlLimits::default();
    let text = manifests(100);
    assert_eq!(
        read_documents(text.as_bytes(), &limits).unwrap(),
        serde_saphyr::from_multiple::<Value>(&text).unwrap()
    );
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("klient", |b| {
        b.iter(|| read_documents(black_box(text.as_bytes()), &limits).unwrap())
    });
    group.bench_function("serde_saphyr", |b| {
        b.iter(|| serde_saphyr::from_multiple::<Value>(black_box(&text)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, kubeconfigs, manifest_stream);
criterion_main!(benches);
