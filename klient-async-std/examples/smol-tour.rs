//! The klient tour (`common/tour.rs`) under smol: `smol::block_on` drives it, and with it the
//! reactor; klient starts no thread and no task of its own. Run it with `./dev tour`.

#[path = "common/tour.rs"]
mod tour;

fn main() -> tour::Result {
    smol::block_on(tour::run())
}
