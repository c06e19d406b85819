//! keyceremony-x509
