import Foundation

/// Writes `dir`/pipeline.toml: the local store through an exec codec running `command`
/// into the folder cache `dir`/cache. Returns the file's path.
func writeExecPipeline(in dir: String, command: [String], compression: String) throws -> String {
    let file = dir + "/pipeline.toml"
    try """
        [limiter]
        memory = "256MiB"
        [codec]
        plugin = "exec"
        command = [\(command.map { "\"\($0)\"" }.joined(separator: ", "))]
        compression = "\(compression)"
        [backend]
        plugin = "file"
        path = "\(dir)/cache"
        """.write(toFile: file, atomically: true, encoding: .utf8)
    return file
}
