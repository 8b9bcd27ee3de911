#!/usr/bin/env python3
"""tmplrand.py: random template cases for lib/tmpl's differential test.

    tmplrand.py templates SEED N [helm|go]   random templates over fixed values
    tmplrand.py values SEED N                random values through toYaml, toJson, %v

Prints N cases in the test/data/tmpl format (README.md there); `make
tmpl-random` feeds them to test/unit/tmpl_diff.sh.  The templates mix
fields (mostly valid paths), literals of every kind, variables, the
builtins and Helm's data functions, pipes, parentheses, if/with/range
(with break/continue), define/template; most render, many fail, and both
must match the oracle.  Deterministic for a seed.
"""
import json
import random
import sys

mode = "helm"
i = 0
FIELDS=["a","b","s","n","f","l","m","z","nul","e","t","big","neg","el","em","ls","lm"]
VALUES={"a":{"b":{"c":1},"l":[1,"x"]},"b":"str","s":"hello world","n":3,"f":1.5,"l":[1,2.5,"x",None,True,{"k":"v"}],
 "m":{"x":1,"y":"two","z":[3]},"z":0,"nul":None,"e":"","t":True,"big":1e21,"neg":-2,"el":[],"em":{},
 "ls":["a","b","c"],"lm":[{"name":"n1","v":1},{"name":"n2"}]}
VALID=["a","a.b","a.b.c","a.l","b","s","n","f","l","m","m.x","m.y","m.z","z","nul","e","t","big","neg","el","em","ls","lm"]
def field(d=0):
    p=random.choice([".Values", "$.Values", ".Values", "$.Values", "."] if mode=="helm" else [".", "$.", "."])
    if random.random()<0.85:
        k=random.choice(VALID).split(".")
    else:
        k=[random.choice(FIELDS) for _ in range(random.randint(1,3))]
    if p==".": return "."+".".join(k)
    if p=="$.": return "$."+".".join(k)
    return p+"."+".".join(k)
def lit():
    return random.choice(['1','0','-1','2.5','"x"','""','"a b"','true','false','nil','0x10','1e3',"'a'",'3','"3"','`raw`'])
def operand(d):
    r=random.random()
    if r<0.35: return field(d)
    if r<0.55: return lit()
    if r<0.65 and VARS: return random.choice(VARS)
    if r<0.8 and d<3: return "("+pipeline(d+1)+")"
    return field(d)
FUNCS=[("and",-2),("or",-2),("not",1),("eq",-2),("ne",2),("lt",2),("le",2),("gt",2),("ge",2),("index",-1),("len",1),
 ("print",-0),("printf",-1),("println",-0),("html",-0),("js",-0),("urlquery",-0)]
if mode=="helm": FUNCS+= [("toJson",1),("toYaml",1),("fromJson",1),("fromYaml",1)]
FMTS=['"%v"','"%d"','"%s"','"%q"','"%T"','"%x"','"%5.2f"','"%v %v"','"%+v"','"%t"']
def command(d):
    if random.random()<0.3: return operand(d)
    name,ar=random.choice(FUNCS)
    if ar<0: n=random.randint(-ar,-ar+2)
    elif ar==0: n=random.randint(0,3)
    else: n=ar
    args=[]
    if name=="printf": args=[random.choice(FMTS)]; n-=1
    args+= [operand(d) for _ in range(max(n,0))]
    return " ".join([name]+args)
def pipeline(d=0):
    cmds=[command(d)]
    for _ in range(random.choice([0,0,0,1,2])):
        name,ar=random.choice([f for f in FUNCS if f[1]!=0 or True])
        if ar>1 or ar==-2: extra=[operand(d) for _ in range((ar if ar>0 else 2)-1)]
        else: extra=[]
        if name=="printf": extra=[random.choice(FMTS)]
        cmds.append(" ".join([name]+extra))
    return " | ".join(cmds)
VARS=[]
def block(d):
    global VARS
    out=[]
    for _ in range(random.randint(1,3)):
        r=random.random()
        if r<0.4: out.append("{{ "+pipeline()+" }}")
        elif r<0.5:
            v="$v%d"%random.randint(0,3)
            out.append("{{ %s := %s }}"%(v,pipeline())); VARS.append(v)
        elif r<0.6 and d<3:
            out.append("{{ if "+pipeline()+" }}"+block(d+1)+("{{ else }}"+block(d+1) if random.random()<0.5 else "")+"{{ end }}")
        elif r<0.7 and d<3:
            out.append("{{ with "+pipeline()+" }}"+block(d+1)+"{{ end }}")
        elif r<0.85 and d<3:
            save=list(VARS)
            if random.random()<0.5:
                VARS+=["$i","$x"]; out.append("{{ range $i, $x := "+pipeline()+" }}"+block(d+1)+"{{ end }}")
            else:
                out.append("{{ range "+pipeline()+" }}"+block(d+1)+"{{ else }}E{{ end }}")
            VARS=save
        elif r<0.9 and d<3:
            save=list(VARS)
            VARS+=["$k"]
            out.append("{{ range $k := "+random.choice(["3","0","-1",".Values.n" if mode=="helm" else ".n","(len .Values.ls)" if mode=="helm" else "(len .ls)"])+" }}{{ if eq $k 1 }}{{ "+random.choice(["break","continue"])+" }}{{ end }}"+block(d+1)+"{{ end }}")
            VARS=save
        elif r<0.95:
            out.append('{{ define "d%d" }}'%i+'{{ . }}{{ end }}{{ template "d%d" '%i+pipeline()+' }}' if d==0 else "{{ print 1 }}")
        else: out.append(random.choice(["-"," ","\n","|"]))
    return "".join(out)
def templates(seed, N, mode_):
    global mode, VARS, i
    mode = mode_
    random.seed(seed)
    cases=[]
    for i in range(N):
        VARS=[]
        t=block(0)
        opts="" if mode=="helm" else " oracle=go"+random.choice(["", " missingkey=zero", " missingkey=error"])
        cases.append("@@@@ t%d%s\n%s\n@@ values.yaml\n%s\n"%(i,opts,t,json.dumps(VALUES)))
    sys.stdout.write("".join(cases))


alphabet = list("abcxyz ABC:#-?!&*'\"%@`|>,[]{}=~.0123456789\t\\/") + ["é", "日", "\u00a0", "😀", "\n", "\n", "  ", "- ", ": ", " #", "yes", "no", "null", "true", "1e3", "0x1F", "<<", "http://example.com/a?b=c&d"]
def rstr():
    n = random.choice([0,1,2,3,5,8,13,30,60,90,120])
    s = "".join(random.choice(alphabet) for _ in range(n))
    if random.random() < 0.1: s = s.strip()
    return s
def rval(d):
    r = random.random()
    if d > 3 or r < 0.5:
        c = random.random()
        if c < 0.7: return rstr()
        if c < 0.8: return random.choice([0, 1, -1, 3.5, 1e6, 1e21, 1e-7, 123456789, 0.1, 2**53+1, -0.0])
        if c < 0.9: return random.choice([True, False, None])
        return rstr()
    if r < 0.75:
        return {rstr() or "k": rval(d+1) for _ in range(random.randint(0,4))}
    return [rval(d+1) for _ in range(random.randint(0,4))]
def values(seed, N):
    random.seed(seed)
    out = []
    for i in range(N):
        v = {"v": rval(0)}
        out.append("@@@@ r%d\n{{ toYaml .Values.v }}\n==\n{{ toJson .Values.v }}\n==\n{{ .Values.v }}\n@@ values.yaml\n%s\n" % (i, json.dumps(v, ensure_ascii=False)))
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    if sys.argv[1] == "templates":
        templates(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "helm")
    else:
        values(int(sys.argv[2]), int(sys.argv[3]))
