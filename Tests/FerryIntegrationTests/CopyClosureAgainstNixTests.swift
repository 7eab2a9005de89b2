import FerryTestSupport
import Foundation
import Testing
import FerryCore

@Suite("copy-closure against real Nix", Peers.nix)
struct CopyClosureAgainstNixTests {
    /// A key pair Ferry generated, and the `ferry` invocation that copies `top` with it.
    private func keys(in dir: TemporaryDirectory) throws -> (secret: String, public: String) {
        try ferryKeyPair(named: "ferry-it-1", in: dir)
    }

    @discardableResult
    private func ferry(_ arguments: [String], check: Bool = true) throws -> CommandOutput {
        try run([ferryBinary] + arguments, check: check)
    }

    /// Every file under `dir`, relative path → bytes.
    private func files(_ dir: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: dir)!
        while let file = enumerator.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + file, isDirectory: &isDir), !isDir.boolValue {
                result[file] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
            }
        }
        return result
    }

    @Test("a signed cache in each compression Ferry writes passes nix store verify and fills a fresh store through nix copy",
          arguments: ["zstd", "xz", "gzip", "bzip2&parallel-compression=true", "lz4"])
    func signedCache(compression: String) throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (secret, publicKey) = try keys(in: dir)
        let cache = dir.path + "/cache"
        let output = try ferry(["copy-closure", "--to", "file://\(cache)?compression=\(compression)&secret-key=\(secret)", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        // Contents and signatures checked by Nix: every path trusted.
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "-r", top.path, "--trusted-public-keys", publicKey])
        let root = dir.path + "/root"
        try run(["nix", "copy", "--from", "file://\(cache)", "--to", root, top.path, "--trusted-public-keys", publicKey])
        #expect(Set(try run(["nix", "path-info", "--store", root, "-r", top.path]).lines) == Set(all.map(\.path)))
        try run(["nix", "store", "verify", "--store", root, "--no-trust", "-r", top.path])
    }

    @Test("narinfo NarHash, NarSize, References and Deriver equal nix path-info --json") func narinfoFields() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/cache"
        try ferry(["copy-closure", "--to", "file://\(cache)", top.path])
        for path in all {
            let narinfo = try NarInfo(parsing: String(contentsOfFile: "\(cache)/\(path.hashPart).narinfo", encoding: .utf8))
            let nix = try NixStore.pathInfo(path)
            #expect(narinfo.info.narHash == (try Hash(parsing: nix["narHash"] as! String)))
            #expect(narinfo.info.narSize == (nix["narSize"] as! NSNumber).uint64Value)
            #expect(Set(narinfo.info.references.map(\.path)) == Set(nix["references"] as! [String]))
            #expect(narinfo.info.deriver?.path == nix["deriver"] as? String)
            #expect(narinfo.compression == "zstd")
            let nar = try Data(contentsOf: URL(fileURLWithPath: "\(cache)/\(narinfo.url)"))
            #expect(UInt64(nar.count) == narinfo.fileSize)
        }
    }

    @Test("index-debug-info: the debuginfo links are Nix's byte for byte, for the files Nix indexes and none other; a link already there stays, as in Nix")
    func debugInfoIndex() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Two files Nix indexes, and what it passes over: a folder that is not two hex digits,
        // a symlink, a name of another shape.
        let buildIDs = dir.path + "/with-debug/lib/debug/.build-id"
        let files = ["02/623eda209c26a59b1a8638ff7752f6b945c26b.debug", "ab/cdef000000000000000000000000000000000b.debug",
                     "zz/623eda209c26a59b1a8638ff7752f6b945c26b.debug", "ab/cdef.debug", "ab/cdef000000000000000000000000000000000b.dwo"]
        for file in files {
            try FileManager.default.createDirectory(atPath: (buildIDs + "/" + file as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try Data(file.utf8).write(to: URL(fileURLWithPath: buildIDs + "/" + file))
        }
        try FileManager.default.createSymbolicLink(atPath: buildIDs + "/ab/0000000000000000000000000000000000000a.debug",
                                                   withDestinationPath: "../02/623eda209c26a59b1a8638ff7752f6b945c26b.debug")
        let path = try run(["nix-store", "--add", dir.path + "/with-debug"]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        func links(_ cache: String) throws -> [String: Data] {
            try self.files(cache).filter { $0.key.hasPrefix("debuginfo/") }
        }
        try run(["nix", "copy", "--to", "file://\(dir.path)/by-nix?index-debug-info=1&compression=none", path])
        try ferry(["copy-closure", "--to", "file://\(dir.path)/by-ferry?index-debug-info=1&compression=none", path])
        #expect(try links(dir.path + "/by-nix").count == 2)
        #expect(try links(dir.path + "/by-ferry") == links(dir.path + "/by-nix"))

        let kept = dir.path + "/kept"
        try FileManager.default.createDirectory(atPath: kept + "/debuginfo", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: kept + "/debuginfo/02623eda209c26a59b1a8638ff7752f6b945c26b.debug"))
        try ferry(["copy-closure", "--to", "file://\(kept)?index-debug-info=1&compression=zstd", path])
        let written = try links(kept)
        #expect(written["debuginfo/02623eda209c26a59b1a8638ff7752f6b945c26b.debug"] == Data("old".utf8))
        let link = try JSONSerialization.jsonObject(with: written["debuginfo/abcdef000000000000000000000000000000000b.debug"] ?? Data())
        let archive = (link as? [String: String])?["archive"] ?? ""
        #expect(archive.hasPrefix("../nar/") && archive.hasSuffix(".nar.zst"), "\(link)")
        #expect(FileManager.default.fileExists(atPath: kept + "/debuginfo/" + archive), "\(archive)")
    }

    @Test("relative paths in a config file start from its folder, whatever the working directory")
    func configRelativePaths() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (secret, publicKey) = try keys(in: dir)
        try FileManager.default.createDirectory(atPath: dir.path + "/conf", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: secret, toPath: dir.path + "/conf/cache.sec")
        try """
            paths = ["\(top.path)"]
            [limiter]
            memory = "256MiB"
            [backend]
            plugin = "file"
            path = "cache"
            secret-key = "cache.sec"
            """.write(toFile: dir.path + "/conf/p.toml", atomically: true, encoding: .utf8)
        try run(["sh", "-c", "cd \(dir.path)/elsewhere && exec \(ferryBinary) run ../conf/p.toml"])
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/conf/cache", "--trusted-public-keys", publicKey, "-r", top.path])
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/elsewhere/cache"))
    }

    @Test("a new cache has the folders nix copy makes; a destination that cannot be made, or a cache folder named as a store, is a configuration error that names it")
    func cacheFolders() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try run(["nix", "copy", "--to", "file://\(dir.path)/by-nix", top.path])
        try ferry(["copy-closure", "--to", "file://\(dir.path)/by-ferry", top.path])
        func folders(_ cache: String) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: cache).filter { name in
                var isFolder: ObjCBool = false
                return FileManager.default.fileExists(atPath: cache + "/" + name, isDirectory: &isFolder) && isFolder.boolValue
            }.sorted()
        }
        #expect(try folders(dir.path + "/by-ferry") == folders(dir.path + "/by-nix"))
        try "".write(toFile: dir.path + "/a-file", atomically: true, encoding: .utf8)
        let refused = try ferry(["copy-closure", "--to", "file://\(dir.path)/a-file/cache", top.path], check: false)
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("file://\(dir.path)/a-file/cache: cannot create the cache's folders") && refused.stderr.contains("Not a directory"),
                "\(refused.stderr)")
        // A cache's folder named as a store (no file://) is refused, not made into a store.
        let bare = try ferry(["copy-closure", "--from", dir.path + "/by-nix", "--to", "file://\(dir.path)/c", top.path], check: false)
        #expect(bare.status == 2 && bare.stderr.contains("holds a binary cache") && bare.stderr.contains("file://\(dir.path)/by-nix"),
                "\(bare.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/by-nix/nix"))
    }

    @Test("a second run copies nothing; two runs into fresh caches write identical files") func deterministic() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (secret, _) = try keys(in: dir)
        let url = { (name: String) in "file://\(dir.path)/\(name)?secret-key=\(secret)&write-nar-listing=1" }
        try ferry(["copy-closure", "--to", url("a"), top.path])
        let before = try files(dir.path + "/a")
        let again = try ferry(["copy-closure", "--to", url("a"), top.path])
        #expect(again.stderr.contains("0 copied, \(all.count) already there"), "\(again.stderr)")
        #expect(try files(dir.path + "/a") == before)
        try ferry(["copy-closure", "--to", url("b"), "--jobs", "1", top.path])
        #expect(try files(dir.path + "/b") == before)
        #expect(before.keys.filter { $0.hasSuffix(".ls") }.count == all.count)
    }

    @Test("into another store root: signatures travel, nothing is ultimate, Nix finds nothing wrong") func storeRoot() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/root"
        try ferry(["copy-closure", "--to", "local?root=\(root)", top.path])
        #expect(Set(try run(["nix", "path-info", "--store", root, "-r", top.path]).lines) == Set(all.map(\.path)))
        try run(["nix", "store", "verify", "--store", root, "--no-trust", "-r", top.path])
        // Onward from that root to a second one, as a bare path.
        try ferry(["copy-closure", "--from", root, "--to", dir.path + "/root2", top.path])
        try run(["nix", "store", "verify", "--store", dir.path + "/root2", "--no-trust", "-r", top.path])
        // A relative root on the command line starts from the working directory.
        let relative = try run(["sh", "-c", "cd \(dir.path) && exec \(ferryBinary) copy-closure --from local?root=root --to local?root=root3 \(top.path)"],
                               check: false)
        #expect(relative.status == 0, "\(relative.stderr)")
        try run(["nix", "store", "verify", "--store", dir.path + "/root3", "--no-trust", "-r", top.path])
        // A root to read from that does not exist is a mistake; nix-store would make it.
        let missing = try ferry(["copy-closure", "--from", "local?root=\(dir.path)/none", "--to", dir.path + "/root4", top.path], check: false)
        #expect(missing.status == 2 && missing.stderr.contains("there is no store at \(dir.path)/none"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/none"))
    }

    @Test("an exec codec's output is a cache Nix reads") func execCodec() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try writeExecPipeline(in: dir.path, command: ["zstd", "-19", "-c"], compression: "zstd")
        try ferry(["run", config, top.path])
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/cache", "--no-trust", "-r", top.path])
    }

    @Test("an exec codec's command that fails is named with its exit and its words, whatever it wrote")
    func execCodecFails() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try writeExecPipeline(in: dir.path, command: ["sh", "-c", "cat >/dev/null; echo no such option >&2; exit 3"], compression: "zstd")
        let output = try ferry(["run", config, top.path], check: false)
        #expect(output.status == 1 && output.stderr.contains("exited with status 3; it said: no such option"), "\(output.stderr)")
        #expect(!output.stderr.contains("compression setting"), "\(output.stderr)")
    }

    @Test("--to replaces a config file's [backend] whole, and a note names the keys of it no longer used (a secret key)")
    func toReplacesBackend() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ferry(["keys", "generate", "--name", "k-1", "--secret-file", dir.path + "/k.sec", "--public-file", dir.path + "/k.pub"])
        try "[limiter]\n[backend]\nplugin = \"file\"\npath = \"a\"\nsecret-key = \"k.sec\"\n".write(toFile: dir.path + "/p.toml", atomically: true, encoding: .utf8)
        let output = try ferry(["copy-closure", "--config", dir.path + "/p.toml", "--to", "file://\(dir.path)/b", top.path])
        #expect(output.stderr.contains("note: --to replaces \(dir.path)/p.toml [backend], whose secret-key is not used; give it in the URL"),
                "\(output.stderr)")
        let kept = try ferry(["copy-closure", "--config", dir.path + "/p.toml", "--to", "file://\(dir.path)/c?secret-key=\(dir.path)/k.sec", top.path])
        #expect(!kept.stderr.contains("note:"), "\(kept.stderr)")
    }

    @Test("an exec codec whose output is not the compression it names fails every path, saying so; nothing is published",
          arguments: [(["cat"], "xz"), (["gzip", "-c"], "zstd"), (["sh", "-c", "cat >/dev/null"], "bzip2")])
    func execCodecMismatch(command: [String], compression: String) throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try writeExecPipeline(in: dir.path, command: command, compression: compression)
        let output = try ferry(["run", config, top.path], check: false)
        #expect(output.status == 1 && output.stderr.contains("the [codec] compression setting must name what the command writes"),
                "\(output.stderr)")
        let published = (try? narinfos(in: dir.path + "/cache")) ?? []
        #expect(published.isEmpty, "\(published)")
    }

    @Test("config errors exit 2 and name what is wrong", arguments: [
        ("[backend]\nplugin = \"file\"\npath = \"/tmp/x\"\n", "the [limiter] table is missing"),
        ("[limiter]\n[backend]\nplugin = \"file\"\npth = \"/tmp/x\"\n", "[backend] pth: unknown key for backend plugin 'file'"),
        ("jobs = \"four\"\n[limiter]\n[backend]\nplugin = \"file\"\npath = \"/tmp/x\"\n", "jobs: expected an integer"),
        ("[limiter]\nwarn-after = \"soon\"\n[backend]\nplugin = \"file\"\npath = \"/x\"\n", "[limiter] warn-after: 'soon' is not a duration"),
        ("[limiter]\n[codec]\nplugin = \"lz5\"\n[backend]\nplugin = \"file\"\npath = \"/x\"\n", "[codec] plugin: no codec plugin is called 'lz5'"),
        ("[limiter]\n[codec]\nlevel = \"high\"\n[backend]\nplugin = \"file\"\npath = \"/x\"\n", "[codec] level: expected an integer"),
        ("[limiter]\n[codec]\nplugin = \"xz\"\n[backend]\nplugin = \"local\"\nroot = \"/x\"\n",
         "[codec]: store /x takes NARs uncompressed"),
    ])
    func configErrors(toml: String, expected: String) throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try toml.write(toFile: dir.path + "/p.toml", atomically: true, encoding: .utf8)
        let result = try ferry(["run", dir.path + "/p.toml", top.path], check: false)
        #expect(result.status == 2)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
    }

    @Test("a command line Ferry refuses exits 2, as a refused config does, and says what is wrong", arguments: [
        (["copy-closure", "--bogus", "--to", "file:///tmp/x", "/nix/store/00000000000000000000000000000000-x"],
         "Unknown option '--bogus'"),
        (["copy-closure", "/nix/store/00000000000000000000000000000000-x"], "say where to copy to with --to"),
        (["copy-closure", "--jobs", "0", "--to", "file:///tmp/x", "/nix/store/00000000000000000000000000000000-x"],
         "--jobs must be 1 or more"),
        (["frob"], "Unexpected argument 'frob'"),
        (["copy-closure", "--jobs", "-1", "--to", "file:///tmp/x", "/nix/store/00000000000000000000000000000000-x"],
         "--jobs must be 1 or more"),
        (["copy-closure", "--retries", "0", "--to", "file:///tmp/x", "/nix/store/00000000000000000000000000000000-x"],
         "--retries must be 1 (no retry) or more"),
        (["copy-closure", "-q", "-v", "--to", "file:///tmp/x", "/nix/store/00000000000000000000000000000000-x"],
         "--quiet and --verbose ask for opposite things"),
        (["mirror", "--from", "file:///tmp/y", "--no-check-sigs", "--trusted-public-key", "k:AAAA", "--to", "file:///tmp/x",
          "/nix/store/00000000000000000000000000000000-x"], "--no-check-sigs and --trusted-public-key ask for opposite things"),
        (["run", "examples/local-to-file.toml", "--to", "file:///tmp/x"], "use copy-closure --config examples/local-to-file.toml"),
        ([], "'ferry' needs a subcommand: copy-closure, mirror, run"),
        (["keys"], "'ferry keys' needs a subcommand: generate"),
    ])
    func usageErrors(arguments: [String], expected: String) throws {
        let result = try ferry(arguments, check: false)
        #expect(result.status == 2)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stderr.contains("--help"), "no pointer to --help: \(result.stderr)")
    }

    @Test("--paths-from takes a list (comments and blank lines skipped) from a file or standard input, for copy-closure and run; a list that cannot be read, or has a bad line, exits 2 naming why and where; an empty one copies nothing and exits 0")
    func pathsFrom() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let list = "# the closure, as nix-store -qR prints it\n\n" + all.map { "\($0.path)  # \($0.name)" }.joined(separator: "\n") + "\n"
        try list.write(toFile: dir.path + "/paths", atomically: true, encoding: .utf8)
        try "[limiter]\nmemory = \"256MiB\"\n[backend]\nplugin = \"file\"\npath = \"\(dir.path)/by-run\"\n"
            .write(toFile: dir.path + "/run.toml", atomically: true, encoding: .utf8)
        let copies = [
            try ferry(["copy-closure", "--to", "file://\(dir.path)/from-file", "--paths-from", dir.path + "/paths"]),
            try run([ferryBinary, "copy-closure", "--to", "file://\(dir.path)/from-stdin", "--paths-from", "-"], stdin: Data(list.utf8)),
            try ferry(["run", dir.path + "/run.toml", "--paths-from", dir.path + "/paths"]),
        ]
        for copy in copies {
            #expect(copy.stderr.contains("\(all.count) copied"), "\(copy.stderr)")
        }
        try run(["nix", "store", "verify", "--no-trust", "--store", "file://\(dir.path)/by-run", "-r", top.path])
        let unreadable = try ferry(["copy-closure", "--to", "file://\(dir.path)/none", "--paths-from", dir.path + "/missing"], check: false)
        #expect(unreadable.status == 2 && unreadable.stderr.contains("--paths-from \(dir.path)/missing: cannot read the list")
                && unreadable.stderr.contains("No such file or directory"), "\(unreadable.stderr)")
        try (list + "not-a-path\n").write(toFile: dir.path + "/bad", atomically: true, encoding: .utf8)
        let bad = try ferry(["copy-closure", "--to", "file://\(dir.path)/none", "--paths-from", dir.path + "/bad"], check: false)
        #expect(bad.status == 2 && bad.stderr.contains("--paths-from \(dir.path)/bad line \(all.count + 3): "), "\(bad.stderr)")
        // An empty list (a script found nothing to copy) is a run with nothing to do.
        let empty = try run([ferryBinary, "copy-closure", "--to", "file://\(dir.path)/none", "--json", "--paths-from", "-"],
                            stdin: Data("# nothing today\n".utf8))
        #expect(empty.status == 0 && empty.text.contains(#""event":"summary""#) && empty.stderr.contains("0 copied"), "\(empty.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/none"))
    }

    @Test("--help is no error: it exits 0 with the overview on stdout") func help() throws {
        let result = try ferry(["copy-closure", "--help"])
        #expect(result.status == 0)
        let overview = String(decoding: result.stdout, as: UTF8.self)
        #expect(overview.contains("OVERVIEW:"), "\(overview)")
    }

    @Test("keys generate: a bad name or an existing file exits 2, a folder that is not there names the reason; nothing is overwritten, and no secret key is left without its public one")
    func keyErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func generate(_ name: String, _ secret: String) throws -> CommandOutput {
            try ferry(["keys", "generate", "--name", name, "--secret-file", secret, "--public-file", dir.path + "/\(name).pub"], check: false)
        }
        let badName = try generate("bad:name", dir.path + "/a.sec")
        #expect(badName.status == 2 && badName.stderr.contains("--name 'bad:name': a key name is non-empty"), "\(badName.stderr)")
        #expect(badName.stderr.contains("See 'ferry keys generate --help'"), "\(badName.stderr)")
        let noFolder = try generate("good", dir.path + "/missing/k.sec")
        #expect(noFolder.status == 1 && noFolder.stderr.contains("failed: No such file or directory"), "\(noFolder.stderr)")
        try "keep me".write(toFile: dir.path + "/old.sec", atomically: true, encoding: .utf8)
        let existing = try generate("other", dir.path + "/old.sec")
        #expect(existing.status == 2 && existing.stderr.contains("exists already"), "\(existing.stderr)")
        // Refused by run(), where ArgumentParser alone would show the root's usage.
        #expect(existing.stderr.contains("Usage: ferry keys generate --name"), "\(existing.stderr)")
        #expect(try String(contentsOfFile: dir.path + "/old.sec", encoding: .utf8) == "keep me")
        // Both files or neither: a public file that cannot be written takes the secret one back.
        let takenPublic = try ferry(["keys", "generate", "--name", "k", "--secret-file", dir.path + "/new.sec",
                                     "--public-file", dir.path + "/old.sec"], check: false)
        #expect(takenPublic.status == 2 && !FileManager.default.fileExists(atPath: dir.path + "/new.sec"), "\(takenPublic.stderr)")
        let same = try ferry(["keys", "generate", "--name", "k", "--secret-file", dir.path + "/same", "--public-file", dir.path + "/./same"],
                             check: false)
        #expect(same.status == 2 && same.stderr.contains("name the same file") && !FileManager.default.fileExists(atPath: dir.path + "/same"),
                "\(same.stderr)")
    }

    @Test("ferry plugins prints every option's name and default whole, however long; a cache source marks the settings only uploads use")
    func pluginsListing() throws {
        let listing = String(decoding: try ferry(["plugins"]).stdout, as: UTF8.self)
        for whole in ["base64-ssh-public-host-key ", "default ~/.ssh/known_hosts ", "default $TMPDIR or /tmp ",
                      "default s3.REGION.amazonaws.com "] {
            #expect(listing.contains(whole), "cut short: \(whole)")
        }
        let sections = listing.components(separatedBy: "\n\n")
        let source = try #require(sections.first { $0.hasPrefix("[source] plugin = \"binary-cache\"") }, "\(listing)")
        let s3 = try #require(sections.first { $0.hasPrefix("[backend] plugin = \"s3\"") }, "\(listing)")
        func line(_ option: String, in section: String) -> String {
            section.split(separator: "\n").first { $0.hasPrefix("  \(option) ") }.map(String.init) ?? ""
        }
        for option in ["multipart-threshold", "spool-dir", "narinfo-compression"] {
            #expect(line(option, in: source).hasSuffix("used only when writing"), "\(line(option, in: source))")
            #expect(!line(option, in: s3).isEmpty && !line(option, in: s3).contains("only when writing"), "\(line(option, in: s3))")
        }
        #expect(line("connect-timeout", in: source).hasSuffix("give up on a server that does not answer"))
    }

    @Test("a path missing from the source exits 1 and names it; nothing is written") func missingPath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = "/nix/store/00000000000000000000000000000000-not-there"
        let result = try ferry(["copy-closure", "--to", "file://\(dir.path)/cache", missing], check: false)
        #expect(result.status == 1)
        #expect(result.stderr.contains(missing))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/cache/nar"))
    }
}
