from modelmap._cli import main

main()
