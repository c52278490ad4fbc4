//! Inputs shared by klient's criterion benches (the benches themselves are under `benches/`).
