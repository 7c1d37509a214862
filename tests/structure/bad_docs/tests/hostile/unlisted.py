# expect: oom
