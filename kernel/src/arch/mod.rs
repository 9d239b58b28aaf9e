//! Architecture layer; x86_64 is the only architecture.

pub mod x86_64;

pub use self::x86_64::*;
