import ArgumentParser
import FerryCore
import Foundation

/// `ferry keys`: binary-cache signing keys in Nix's format.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make binary-cache signing keys in Nix's format.",
        subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key pair, as 'nix-store --generate-binary-cache-key' does.",
            discussion: "The secret key file is created readable by its owner only; an existing file is never overwritten. Give the public key to Nix's trusted-public-keys.")

        @Option(help: "The key's name, conventionally the cache's host name and a number: cache.example.org-1.")
        var name: String

        @Option(help: "Where to write the secret key.")
        var secretFile: String

        @Option(help: "Where to write the public key.")
        var publicFile: String

        func validate() throws {
            do { try KeyError.checkName(name, in: "--name") } catch { throw ValidationError("--name '\(name)': \(error.reason)") }
            if URL(fileURLWithPath: secretFile).standardizedFileURL == URL(fileURLWithPath: publicFile).standardizedFileURL {
                throw ValidationError("--secret-file and --public-file name the same file; the keys need one each")
            }
        }

        /// Both files or neither: a secret key whose public half could not be written is
        /// removed, so that running the command again (once the cause is mended) works.
        func run() throws {
            let key = try SecretKey(generatingNamed: name)
            try create(secretFile, key.rendered, mode: 0o600)
            do {
                try create(publicFile, key.publicKey.rendered, mode: 0o644)
            } catch {
                unlink(secretFile)
                throw error
            }
            print(key.publicKey.rendered)
        }

        /// Writes a new file; one that exists already is refused, never overwritten.
        private func create(_ path: String, _ text: String, mode: mode_t) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            guard fd >= 0 else {
                if errno == EEXIST { throw ValidationError("\(path) exists already; Ferry does not overwrite keys") }
                throw SystemError("create", path)
            }
            // A file that could not be written whole is no key: removed, so a rerun may make it.
            do {
                try Array(text.utf8).withUnsafeBytes { try writeAll(fd, $0, subject: path) }
            } catch {
                close(fd)
                unlink(path)
                throw error
            }
            guard close(fd) == 0 else {
                unlink(path)
                throw SystemError("close", path)
            }
        }
    }
}
