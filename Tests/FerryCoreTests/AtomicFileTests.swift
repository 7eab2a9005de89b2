import FerryCore
import FerryTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("atomic files")
struct AtomicFileTests {
    /// Above any pid_max: no process has it.
    let deadPid: Int32 = 2_147_483_000

    @Test("stale temporaries: a dead run's of this host go; a live writer's and a fresh one of another PID namespace stay")
    func staleTemporaries() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // `.a.narinfo.ferry-HOST_nsN-PID-RANDOM`: keep `.a.narinfo.ferry-HOST_nsN`.
        let ours = String(AtomicFile.temporaryName(for: dir.path + "/a.narinfo").split(separator: "/").last!)
        let prefix = ours.split(separator: "-").dropLast(2).joined(separator: "-")
        let namespace = try #require(prefix.range(of: "_ns", options: .backwards), "the tag names the PID namespace: \(prefix)")
        let otherNamespace = prefix[..<namespace.lowerBound] + "_ns1"
        let dead = "\(prefix)-\(deadPid)-1", live = "\(prefix)-\(getpid())-2"
        let otherFresh = "\(otherNamespace)-\(deadPid)-3", otherOld = "\(otherNamespace)-\(deadPid)-4"
        for name in [dead, live, otherFresh, otherOld] {
            #expect(FileManager.default.createFile(atPath: dir.path + "/" + name, contents: Data()))
        }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-2 * 86_400)],
                                              ofItemAtPath: dir.path + "/" + otherOld)

        #expect(Set(AtomicFile.removeStaleTemporaries(in: dir.path)) == [dead, otherOld])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == [live, otherFresh])
    }
}
