from vocalis.cli import main

main()
