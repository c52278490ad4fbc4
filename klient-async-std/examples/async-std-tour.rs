//! The klient tour (`common/tour.rs`) under async-std: `async_std::task::block_on` drives it on
//! async-std's executor, over the same `async-io` reactor. Run it with `./dev tour`.

#[path = "common/tour.rs"]
mod tour;

fn main() -> tour::Result {
    async_std::task::block_on(tour::run())
}
