//! keyceremony-hsm
