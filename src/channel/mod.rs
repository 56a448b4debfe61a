//! Channels: the model of libxl's channel types, their JSON form, their xenstore layout and
//! the operations on a domain's channels.

pub mod console;
pub mod hotplug;
pub mod json;
pub mod model;
pub mod names;
pub mod remove;
pub mod store;

pub use model::{ChannelInfo, Connection, DeviceChannel};
