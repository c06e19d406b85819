//! keyceremony-log
