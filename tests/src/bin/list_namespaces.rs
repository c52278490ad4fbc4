//! Lists namespaces with the default configuration chain; the auth tests run it as a child
//! process to control its environment (HTTPS_PROXY, NO_PROXY, KUBECONFIG).

use k8s_openapi::api::core::v1::Namespace;
use klient_blocking::core::ListParams;
use klient_blocking::{Api, Client};

fn main() {
    let result =
        Client::try_default().and_then(|client| Api::<Namespace>::all(client).list(&ListParams::default()));
    match result {
        Ok(list) => {
            for ns in list.items {
                println!("{}", ns.metadata.name.unwrap_or_default());
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
