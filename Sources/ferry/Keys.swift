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

        func run() throws {
            let key = try SecretKey(generatingNamed: name)
            try create(secretFile, key.rendered, mode: 0o600)
            try create(publicFile, key.publicKey.rendered, mode: 0o644)
            print(key.publicKey.rendered)
        }

        private func create(_ path: String, _ text: String, mode: Int) throws {
            guard !FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(path) exists already; Ferry does not overwrite keys")
            }
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
                throw ValidationError("cannot create \(path)")
            }
        }
    }
}
