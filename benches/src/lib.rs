//! Inputs and instruments shared by klient's criterion benches (the benches themselves are under
//! `benches/`): the 10,000-pod list that the list benches decode, and the counting allocator that
//! measures peak heap.

pub mod alloc;
pub mod pods;
