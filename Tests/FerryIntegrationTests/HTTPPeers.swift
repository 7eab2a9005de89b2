import FerryCore
import FerryTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Real nginx on free loopback ports: one serves a folder read-only (a binary cache as a
/// CDN would), one takes WebDAV PUTs into a folder of its own, and two more take PUTs only
/// with credentials: basic (`ferry`/`s3cret`) or a bearer token (`t0ken`).
final class Nginx: Sendable {
    let dir: String
    let readPort: Int
    let davPort: Int
    let basicPort: Int
    let bearerPort: Int
    let davRoot: String
    private let process: ChildProcess

    /// Serves `cache` read-only; the WebDAV folder starts empty.
    static func start(serving cache: String) throws -> Nginx {
        let dir = try TemporaryDirectory().path
        let readPort = try freePort(), davPort = try freePort(), basicPort = try freePort(), bearerPort = try freePort()
        let davRoot = dir + "/dav"
        try FileManager.default.createDirectory(atPath: davRoot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/body", withIntermediateDirectories: true)
        try "ferry:{PLAIN}s3cret\n".write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
        try """
            user root; worker_processes 1; daemon off; pid \(dir)/nginx.pid; error_log \(dir)/error.log;
            events { worker_connections 64; }
            http {
              access_log \(dir)/access.log; client_body_temp_path \(dir)/body; client_max_body_size 0;
              server { listen 127.0.0.1:\(readPort); root \(cache); }
              server { listen 127.0.0.1:\(davPort); root \(davRoot); dav_methods PUT DELETE;
                       create_full_put_path on; dav_access user:rw group:r all:r; }
              server { listen 127.0.0.1:\(basicPort); root \(dir)/basic; dav_methods PUT; create_full_put_path on;
                       auth_basic "ferry"; auth_basic_user_file \(dir)/htpasswd; }
              server { listen 127.0.0.1:\(bearerPort); root \(dir)/bearer; dav_methods PUT; create_full_put_path on;
                       if ($http_authorization != "Bearer t0ken") { return 401; } }
            }
            """.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        // Kept in the foreground as a child of the tests (Foundation's Process can miss the
        // exit of a daemonising parent while other children start).
        let process = try ChildProcess(arguments: ["/usr/sbin/nginx", "-c", dir + "/nginx.conf", "-p", dir])
        guard waitForPort(readPort), waitForPort(davPort), waitForPort(basicPort), waitForPort(bearerPort) else {
            process.kill(SIGKILL)
            throw CommandFailed(command: ["nginx"], output: .init(status: 1, stdout: Data(),
                stderr: (try? String(contentsOfFile: dir + "/error.log", encoding: .utf8)) ?? "nginx did not start"))
        }
        return Nginx(dir: dir, ports: [readPort, davPort, basicPort, bearerPort], davRoot: davRoot, process: process)
    }

    private init(dir: String, ports: [Int], davRoot: String, process: ChildProcess) {
        self.dir = dir
        readPort = ports[0]
        davPort = ports[1]
        basicPort = ports[2]
        bearerPort = ports[3]
        self.davRoot = davRoot
        self.process = process
    }

    func stop() {
        process.kill(SIGQUIT)
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// moto's S3 server on a free loopback port, checking SigV4 signatures: its first four
/// requests (unauthenticated) make an IAM user with an access key and a bucket; every
/// request after them must be signed with that key.
final class MotoS3: Sendable {
    let port: Int
    let bucket = "ferry-mirror"
    let accessKey: String
    let secretKey: String
    private let process: ChildProcess

    static func start() throws -> MotoS3 {
        let port = try freePort()
        let process = try startServer(["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], on: port,
                                      environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "4"], seconds: 60)
        let keys = try run(["python3", "-c", """
            import boto3, json
            kw = dict(endpoint_url='http://127.0.0.1:\(port)', region_name='us-east-1',
                      aws_access_key_id='bootstrap', aws_secret_access_key='bootstrap')
            iam = boto3.client('iam', **kw)
            iam.create_user(UserName='ferry')
            iam.put_user_policy(UserName='ferry', PolicyName='all', PolicyDocument=json.dumps(
                {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))
            key = iam.create_access_key(UserName='ferry')['AccessKey']
            boto3.client('s3', endpoint_url='http://127.0.0.1:\(port)', region_name='us-east-1',
                         aws_access_key_id=key['AccessKeyId'], aws_secret_access_key=key['SecretAccessKey']
                         ).create_bucket(Bucket='ferry-mirror')
            print(key['AccessKeyId'], key['SecretAccessKey'])
            """]).text.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        return MotoS3(port: port, accessKey: keys[0], secretKey: keys[1], process: process)
    }

    private init(port: Int, accessKey: String, secretKey: String, process: ChildProcess) {
        self.port = port
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.process = process
    }

    /// The store URL of the bucket, with extra parameters; `endpointAsURL` writes the
    /// endpoint as newer Nix takes it, `endpoint=http://…`, in place of `scheme=http`.
    func url(_ extra: String = "", endpointAsURL: Bool = false) -> String {
        let endpoint = endpointAsURL ? "endpoint=http://127.0.0.1:\(port)" : "endpoint=127.0.0.1:\(port)&scheme=http"
        return "s3://\(bucket)?\(endpoint)&region=us-east-1" + (extra.isEmpty ? "" : "&\(extra)")
    }

    /// An environment with no S3 keys in it: no variables, no files under `home`.
    static func environmentWithoutKeys(home: String) -> [String: String] {
        nixEnvironment.filter { !$0.key.hasPrefix("AWS_") }.merging(["HOME": home]) { $1 }
    }

    /// The environment that gives Ferry (or boto3) the key pair; `secret` overrides the secret.
    func environment(secret: String? = nil) -> [String: String] {
        nixEnvironment.merging(["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret ?? secretKey,
                                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]) { $1 }
    }

    /// A role `uploader` that may do anything in S3, and a user `base` that may only assume
    /// roles: the role's ARN and the user's key pair.
    func makeRole() throws -> (arn: String, key: String, secret: String) {
        let fields = try run(["python3", "-c", """
            import boto3, json
            kw = dict(endpoint_url='http://127.0.0.1:\(port)', region_name='us-east-1')
            iam = boto3.client('iam', **kw)
            trust = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': '*'}, 'Action': 'sts:AssumeRole'}]}
            arn = iam.create_role(RoleName='uploader', AssumeRolePolicyDocument=json.dumps(trust))['Role']['Arn']
            iam.put_role_policy(RoleName='uploader', PolicyName='s3', PolicyDocument=json.dumps(
                {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}))
            iam.create_user(UserName='base')
            iam.put_user_policy(UserName='base', PolicyName='assume', PolicyDocument=json.dumps(
                {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Resource': '*'}]}))
            key = iam.create_access_key(UserName='base')['AccessKey']
            print(arn, key['AccessKeyId'], key['SecretAccessKey'])
            """], environment: environment()).text.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        return (fields[0], fields[1], fields[2])
    }

    /// Downloads every object of the bucket into `dir`, its bytes as stored (as a file cache
    /// would hold them, unless they came with a `Content-Encoding`); returns each key with
    /// its ETag (`md5-N` for an object uploaded in N parts) and its `Content-Encoding`.
    @discardableResult
    func download(into dir: String) throws -> [(key: String, etag: String, encoding: String?)] {
        try run(["python3", "-c", """
            import boto3, os
            s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:\(port)', region_name='us-east-1')
            for page in s3.get_paginator('list_objects_v2').paginate(Bucket='\(bucket)'):
                for item in page.get('Contents', []):
                    path = os.path.join('\(dir)', item['Key'])
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    answer = s3.get_object(Bucket='\(bucket)', Key=item['Key'])
                    with open(path, 'wb') as f:
                        f.write(answer['Body'].read())
                    print(item['Key'], item['ETag'].strip('"'), answer.get('ContentEncoding', '-'))
            """], environment: environment()).lines.map { line in
                let fields = line.split(separator: " ").map(String.init)
                return (fields[0], fields.count > 1 ? fields[1] : "", fields.count > 2 && fields[2] != "-" ? fields[2] : nil)
            }
    }

    /// The keys of the multipart uploads begun in the bucket and neither completed nor aborted.
    func openUploads() throws -> [String] {
        try run(["python3", "-c", """
            import boto3
            s3 = boto3.client('s3', endpoint_url='http://127.0.0.1:\(port)', region_name='us-east-1')
            for upload in s3.list_multipart_uploads(Bucket='\(bucket)').get('Uploads', []):
                print(upload['Key'])
            """], environment: environment()).lines
    }

    func stop() { process.kill(SIGKILL) }
}
