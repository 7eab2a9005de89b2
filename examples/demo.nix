# A small closure for `make demo`: four paths that reference each other, built with
# nothing but /bin/sh (no nixpkgs, no network).
let
  mk = name: script: derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/bin:/usr/bin";
  };
  greeting = mk "ferry-demo-greeting" "mkdir -p $out/share; echo 'Hello from Ferry' > $out/share/greeting";
  lib = mk "ferry-demo-lib" ''
    mkdir -p $out/lib
    echo ${greeting} > $out/lib/greeting-path
    for i in $(seq 1 200); do echo "line $i of a file that compresses well"; done > $out/lib/data.txt
  '';
  docs = mk "ferry-demo-docs" "mkdir -p $out/share/doc; cp -r /usr/share/doc/nix-bin $out/share/doc/ 2>/dev/null || echo docs > $out/share/doc/README";
in mk "ferry-demo-hello" ''
  mkdir -p $out/bin
  printf '#!/bin/sh\ncat ${greeting}/share/greeting\n' > $out/bin/hello
  chmod +x $out/bin/hello
  echo ${lib} ${docs} > $out/deps
  ln -s ${lib}/lib $out/lib
''
