//! Lists over several pages: `list_pages` and continue tokens by hand.

use std::collections::BTreeSet;

use crate::adapter::Api;
use k8s_openapi::api::core::v1::ConfigMap;
use klient_e2e::{Cluster, TestNamespace, admin_client};
use klient_proto::api::{ListParams, PostParams};
use serde_json::json;

#[test]
fn twenty_five_objects_in_pages_of_ten() {
    crate::adapter::run(async move {
        let fixtures = admin_client(&Cluster::get());
        let ns = TestNamespace::create(&fixtures, "pages");
        let cms: Api<ConfigMap> = crate::adapter::api(&ns);
        let mut expected = BTreeSet::new();
        for i in 0..25 {
            let name = format!("page-{i:02}");
            let cm: ConfigMap = serde_json::from_value(json!({
                "metadata": {"name": name, "labels": {"paged": "yes"}}, "data": {"i": i.to_string()},
            }))
            .unwrap();
            w!(cms.create(&PostParams::default(), &cm)).unwrap();
            expected.insert(name);
        }
        let selection = ListParams::default().labels("paged=yes").limit(10);

        let mut names: Vec<String> = Vec::new();
        let mut pages = cms.list_pages(&selection);
        while let Some(cm) = next!(pages) {
            names.push(cm.unwrap().metadata.name.unwrap());
        }
        assert_eq!(names.len(), 25);
        let unique: BTreeSet<String> = names.iter().cloned().collect();
        assert_eq!(unique.len(), 25, "no object twice");
        assert_eq!(unique, expected);

        // The same by hand: 10, 10, 5, with a continue token on all but the last page.
        let mut params = selection.clone();
        let mut sizes = Vec::new();
        let mut seen = BTreeSet::new();
        let mut first_version = None;
        loop {
            let page = w!(cms.list(&params)).unwrap();
            sizes.push(page.items.len());
            first_version.get_or_insert_with(|| page.metadata.resource_version.clone());
            for cm in page.items.iter() {
                assert!(seen.insert(cm.metadata.name.clone().unwrap()), "a duplicate");
            }
            match page.next_page() {
                Some(token) => {
                    params.continue_token = Some(token.to_owned());
                }
                None => break,
            }
        }
        assert_eq!(sizes, [10, 10, 5]);
        assert_eq!(seen, expected);

        // With a selector the server cannot count what is left, so it does not say.
        let first = w!(cms.list(&selection.clone().limit(20))).unwrap();
        assert_eq!(first.items.len(), 20);
        assert!(first.next_page().is_some());
        assert_eq!(first.metadata.remaining_item_count, None);
    });
}
