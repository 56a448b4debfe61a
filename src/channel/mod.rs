//! Channels: the model of libxl's channel types and their JSON form.

pub mod json;
pub mod model;

pub use model::{ChannelInfo, Connection, DeviceChannel};
