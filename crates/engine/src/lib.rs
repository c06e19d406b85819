//! keyceremony-engine
