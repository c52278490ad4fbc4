//! The klient-async-std comparison program under `async_std::task::block_on`.

#[path = "../program.rs"]
mod program;

fn main() -> program::Result {
    async_std::task::block_on(program::main())
}
