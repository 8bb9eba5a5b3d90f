//! Crypto fixtures that tests make for themselves (certificate chains,
//! signed assertions). Compiled for this crate's tests and, with the
//! `test-fixtures` feature, for the integration tests of other crates.
//! A fixture that cannot be made is a broken test setup: panicking is right.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod cloud;
pub mod pki;
