//! keyceremony-script
