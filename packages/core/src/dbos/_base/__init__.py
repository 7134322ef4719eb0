"""The base room: errors, identifier and URL checks, secret masking and serialization. Every
other room may import it; it imports no other part of core."""
