//! Build-time support for linking rump component archives (filled by its issue).
