#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod category;
#[cfg(any(feature = "events", feature = "push-url"))]
mod digest;
#[cfg(feature = "events")]
pub mod events;
mod interruption;
mod lang;
mod parse_name_error;
#[cfg(feature = "push-url")]
pub mod push_url;
mod reason;

pub use category::Category;
pub use interruption::{Interruption, decode};
pub use lang::Lang;
pub use parse_name_error::ParseNameError;
pub use reason::{Basis, Reason};
