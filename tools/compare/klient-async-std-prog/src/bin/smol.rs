//! The klient-async-std comparison program under `smol::block_on`.

#[path = "../program.rs"]
mod program;

fn main() -> program::Result {
    smol::block_on(program::main())
}
