//! Crypto fixtures that tests make for themselves (certificate chains,
//! signed assertions). Compiled for this crate's tests and, with the
//! `test-fixtures` feature, for the integration tests of other crates.

pub mod cloud;
pub mod pki;
