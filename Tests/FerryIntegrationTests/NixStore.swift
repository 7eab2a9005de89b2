import FerryTestSupport
import Foundation
import FerryCore

/// Paths in the local Nix store that the tests build once per run, and what Nix says of them.
enum NixStore {
    /// A closure of four paths built from a Nix expression (no nixpkgs, no network):
    /// references, a self-reference, odd name characters, an executable, symlinks.
    static let closure: Result<(top: StorePath, all: [StorePath]), any Error> = Result {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let expression = """
            let
              mk = name: script: derivation {
                inherit name; system = builtins.currentSystem; builder = "/bin/sh";
                args = [ "-c" script ]; PATH = "/bin:/usr/bin";
              };
              leaf = mk "ferry-it-leaf_1.0+x" "printf leaf > $out";
              self = mk "ferry-it-self?=" "mkdir $out; echo $out > $out/self; echo ${leaf} > $out/leaf";
              big = mk "ferry-it-big" "mkdir -p $out/share; head -c 3000000 /dev/urandom > $out/share/blob; ln -s ${leaf} $out/leaf";
            in mk "ferry-it-top" "mkdir -p $out/bin; echo ${self} ${big} > $out/deps; printf '#!/bin/sh\\necho top\\n' > $out/bin/top; chmod +x $out/bin/top; ln -s ../deps $out/bin/deps-link"
            """
        try expression.write(toFile: dir.path + "/closure.nix", atomically: true, encoding: .utf8)
        let built = try run(["nix-build", dir.path + "/closure.nix", "--no-out-link"]).lines.last ?? ""
        let top = try StorePath(built)
        let all = try run(["nix-store", "--query", "--requisites", top.path]).lines.map { try StorePath($0) }
        return (top, all)
    }

    /// One store path holding a 48 MiB incompressible file (the same path every run), so
    /// that a copy lasts long enough to be stopped or killed half-way.
    static let bigPath = Result { try incompressiblePath(named: "ferry-it-big-nar", seed: 20261123) }
    /// Another, for two long copies at once.
    static let secondBigPath = Result { try incompressiblePath(named: "ferry-it-big-nar-2", seed: 20261124) }

    private static func incompressiblePath(named name: String, seed: Int) throws -> StorePath {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/" + name, withIntermediateDirectories: true)
        try run(["python3", "-c", """
            import random
            r = random.Random(\(seed))
            with open('\(dir.path)/\(name)/blob', 'wb') as f:
                for _ in range(48):
                    f.write(r.randbytes(1 << 20))
            """])
        return try StorePath(try run(["nix-store", "--add", dir.path + "/" + name]).text
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// What `nix path-info --json` says of `path`.
    static func pathInfo(_ path: StorePath, store: String? = nil) throws -> [String: Any] {
        var command = ["nix", "path-info", "--json", path.path]
        if let store { command += ["--store", store] }
        let json = try JSONSerialization.jsonObject(with: run(command).stdout) as? [[String: Any]]
        guard let info = json?.first else { throw CommandFailed(command: command, output: .init(status: 0, stdout: Data(), stderr: "no path info")) }
        return info
    }

    /// `nix-store --dump` of `path`.
    static func dump(_ path: String) throws -> [UInt8] {
        Array(try run(["nix-store", "--dump", path]).stdout)
    }
}
