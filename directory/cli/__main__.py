from directory.cli import main

main()
