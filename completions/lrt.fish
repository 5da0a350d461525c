complete --keep-order --exclusive --command lrt --arguments "(COMPLETE=fish lrt -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
